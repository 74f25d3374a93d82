"""The background thread that runs the engine, so Krita's interface never blocks.

The worker only sees numpy arrays (``LayerJob.content/alpha/mask/fmt``) and the style;
it never touches the Krita API. Results go back to the GUI thread through queued signals.
"""
from __future__ import annotations

import os
import threading
import time

from PyQt5.QtCore import QThread, pyqtSignal

from . import engine_bridge, errors, jobs


def leave_a_core_for_krita() -> None:
    """On machines with 4+ cores, keep one free so Krita stays smooth while torch works."""
    try:
        import torch

        cores = os.cpu_count() or 1
        if cores >= 4 and torch.get_num_threads() >= cores:
            torch.set_num_threads(cores - 1)
    except Exception:  # tuning only; never a reason to fail
        pass


class StyleWorker(QThread):
    #: dict(index, count, step, total, elapsed, eta, preview) — preview is H×W×3 uint8 or None
    progressed = pyqtSignal(object)
    #: index of the job, bytes of its result layer
    job_done = pyqtSignal(int, object)
    #: dict(kind, message, device, index)
    failed = pyqtSignal(object)
    cancelled = pyqtSignal()
    #: the engine is imported and the first job starts
    engine_ready = pyqtSignal()

    def __init__(self, layer_jobs, style, preset: str, options: dict, start_index: int = 0, parent=None):
        super().__init__(parent)
        self.layer_jobs = list(layer_jobs)
        self.style = style
        self.preset = preset
        self.options = dict(options)
        self.start_index = start_index
        self.cancel_event = threading.Event()
        self.index = start_index

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:  # worker thread
        nst_core = None
        try:
            nst_core = engine_bridge.load()
            config = engine_bridge.build_config(nst_core, self.preset, **self.options)
            leave_a_core_for_krita()
            self.engine_ready.emit()
            count = len(self.layer_jobs)
            for index in range(self.start_index, count):
                self.index = index
                if self.cancel_event.is_set():
                    raise nst_core.Cancelled()
                started = time.monotonic()

                def report(p, index=index, started=started):
                    elapsed = time.monotonic() - started
                    eta = elapsed / p.step * (p.total - p.step) if p.step else None
                    preview = None
                    if p.preview is not None:
                        preview = (p.preview.clip(0, 1) * 255 + 0.5).astype("uint8")
                    self.progressed.emit({"index": index, "count": count, "step": p.step, "total": p.total,
                                          "elapsed": elapsed, "eta": eta, "preview": preview})

                data = jobs.style_job(nst_core, self.layer_jobs[index], self.style, config,
                                      progress=report, cancel=self.cancel_event)
                self.job_done.emit(index, data)
        except BaseException as error:  # noqa: B902 — nothing may escape a QThread
            self._report(nst_core, error)

    def _report(self, nst_core, error: BaseException) -> None:
        if nst_core is not None and isinstance(error, nst_core.Cancelled):
            self.cancelled.emit()
            return
        info = {"kind": "error", "message": None, "device": None, "index": self.index}
        if isinstance(error, errors.PluginError):
            info.update(kind=error.kind, message=str(error))
        elif nst_core is not None and isinstance(error, nst_core.OutOfMemory):
            info.update(kind="oom", device=getattr(error, "device", None), message=str(error))
        elif isinstance(error, MemoryError):
            info.update(kind="oom", device="cpu", message=errors.out_of_memory("cpu"))
        elif nst_core is not None and isinstance(error, nst_core.NSTError):
            info.update(kind=type(error).__name__, message=str(error))
        else:
            info["message"] = errors.unexpected(error)
        self.failed.emit(info)
