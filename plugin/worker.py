"""The background thread that runs the engine, so Krita's interface never blocks.

The worker only sees numpy arrays (``LayerJob.content/alpha/mask/fmt``) and the style;
it never touches the Krita API. Results go back to the GUI thread through queued signals.

One engine thread serves every run of the session (:func:`engine_thread`): a new thread
per run made glibc give each one its own malloc arenas, and Krita grew by ~25 MB a run.
After each run the C heap is trimmed (``malloc_trim``) so what torch freed goes back to
the system.
"""
from __future__ import annotations

import os
import queue
import sys
import threading
import time

from PyQt5.QtCore import QObject, pyqtSignal

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


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc only; a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except Exception:  # not glibc: nothing to trim
        pass


class EngineThread:
    """One long-lived daemon thread that runs queued callables in order."""

    def __init__(self):
        self._tasks: "queue.Queue" = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="neural-style-engine", daemon=True)
        self._thread.start()

    def submit(self, task) -> None:
        self._tasks.put(task)

    def _loop(self) -> None:
        while True:
            task = self._tasks.get()
            try:
                task()
            except BaseException:  # noqa: B902 — a task reports its own errors; the thread lives on
                pass
            finally:
                release_free_memory()

    @property
    def ident(self):
        return self._thread.ident


_ENGINE_THREAD = None
_ENGINE_LOCK = threading.Lock()


def engine_thread() -> EngineThread:
    global _ENGINE_THREAD
    with _ENGINE_LOCK:
        if _ENGINE_THREAD is None:
            _ENGINE_THREAD = EngineThread()
        return _ENGINE_THREAD


class StyleWorker(QObject):
    """One run's jobs, executed on the shared :func:`engine_thread`; the QThread-like API
    (``start``, ``isRunning``, ``wait``, ``finished``) the controller uses."""

    #: dict(index, count, step, total, elapsed, eta, preview) — preview is H×W×3 uint8 or None
    progressed = pyqtSignal(object)
    #: index of the job, bytes of its result layer
    job_done = pyqtSignal(int, object)
    #: dict(kind, message, device, index)
    failed = pyqtSignal(object)
    cancelled = pyqtSignal()
    #: the engine is imported and the first job starts
    engine_ready = pyqtSignal()
    #: the run is over (after job_done / failed / cancelled)
    finished = pyqtSignal()

    def __init__(self, layer_jobs, style, preset: str, options: dict, start_index: int = 0, parent=None):
        super().__init__(parent)
        self.layer_jobs = list(layer_jobs)
        self.style = style
        self.preset = preset
        self.options = dict(options)
        self.start_index = start_index
        self.cancel_event = threading.Event()
        self.index = start_index
        self._done = threading.Event()
        self._started = False

    def cancel(self) -> None:
        self.cancel_event.set()

    def start(self) -> None:
        self._started = True
        engine_thread().submit(self._execute)

    def isRunning(self) -> bool:  # noqa: N802 — QThread's name
        return self._started and not self._done.is_set()

    def wait(self, msecs: int = -1) -> bool:
        if not self._started:
            return True
        return self._done.wait(None if msecs is None or msecs < 0 else msecs / 1000.0)

    def _execute(self) -> None:  # engine thread
        try:
            self.run()
        finally:
            self._done.set()
            self.finished.emit()

    def run(self) -> None:  # engine thread
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
