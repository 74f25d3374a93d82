"""One run of the plugin in Krita's GUI: start the worker, show progress, insert results.

Results are inserted only when every layer is done, so *Cancel* or a failure leaves the
document exactly as it was (finished layers are kept for *Retry*). While the worker runs,
a timer watches for the document being closed or the source layers being deleted.
"""
from __future__ import annotations

from . import animation, engine_bridge, errors, jobs, layers
from .qt import QtCore, pyqtSignal
from .ui.progress import ProgressDialog
from .worker import Failure, Progress, StyleWorker

QObject, QTimer = QtCore.QObject, QtCore.QTimer

WATCH_INTERVAL_MS = 400
PREVIEW_EVERY = 5
MIN_RETRY_SIZE = 64
CANCELLED = "Cancelled — nothing in the document was changed."


class StyleRun(QObject):
    """States: ``running`` → ``done`` | ``failed`` | ``cancelled`` (``failed`` may be retried);
    ``running`` → ``asking`` when a source was painted on meanwhile → ``done`` or ``running`` again."""

    finished = pyqtSignal(str)

    def __init__(self, layer_jobs, style, preset: str, options: dict, parent_widget=None):
        super().__init__()
        self.jobs = list(layer_jobs)
        self.style = style
        self.preset = preset
        self.options = dict(options)
        self.options.setdefault("preview_every", PREVIEW_EVERY)
        self.results = {}
        self.new_nodes = []
        self.state = "idle"
        self.message = ""
        self.worker = None
        self._failure = None
        self._cancelled = False
        self._abort = None
        self.progress = ProgressDialog(parent_widget)
        self.progress.cancel_requested.connect(self.cancel)
        self.progress.retry_smaller.connect(self.retry_smaller)
        self.progress.retry_cpu.connect(self.retry_cpu)
        self.progress.keep_result.connect(self.keep_result)
        self.progress.style_again.connect(self.style_again)
        self.watch = QTimer(self)
        self.watch.setInterval(WATCH_INTERVAL_MS)
        self.watch.timeout.connect(self._watch)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        start_index = min((i for i in range(len(self.jobs)) if i not in self.results), default=len(self.jobs))
        self.state = "running"
        self.message = ""
        self._failure = None
        self._cancelled = False
        self._abort = None
        worker = StyleWorker(self.jobs, self.style, self.preset, self.options, start_index)
        worker.progressed.connect(self._on_progress)
        worker.job_done.connect(self._on_job_done)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.engine_ready.connect(self.progress.engine_ready)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        job = self.jobs[start_index] if start_index < len(self.jobs) else self.jobs[-1]
        self.progress.start(f"Styling “{job.source_name}” with “{self.style.label}”")
        self.progress.show()
        self.progress.raise_()
        self.watch.start()
        worker.start()

    def cancel(self) -> None:
        if self.worker is not None and self.worker.isRunning():
            self.worker.cancel()

    def shutdown(self, wait_ms: int = 10000) -> None:
        """Krita is closing: stop the worker before Qt tears down."""
        self.cancel()
        if self.worker is not None:
            self.worker.wait(wait_ms)

    def retry_smaller(self) -> None:
        size = self._effective_size()
        self.options["size"] = max(MIN_RETRY_SIZE, size // 2)
        self.start()

    def retry_cpu(self) -> None:
        self.options["device"] = "cpu"
        self.start()

    def keep_result(self) -> None:
        """The painter keeps the result of the pixels read at the start, new strokes or not."""
        if self.state == "asking":
            self._insert_all()

    def style_again(self) -> None:
        """Read the changed sources again (same areas, masks and settings) and style them anew."""
        if self.state != "asking":
            return
        try:
            for job in self.jobs:
                _kind(job).read(job, jobs.check_alive(job))
        except errors.PluginError as error:
            self._finish("failed", str(error))
            return
        self.results = {}
        self.start()

    def is_running(self) -> bool:
        """A run is under way, or waits for the painter's answer about a changed source."""
        return self.state in ("running", "asking")

    # ------------------------------------------------------------------ worker signals (GUI thread)
    def _on_progress(self, info: Progress) -> None:
        job = self.jobs[info.index]
        self.progress.set_job(info.index, info.count, job.source_name)
        self.progress.set_step(info)

    def _on_job_done(self, index: int, data) -> None:
        self.results[index] = data

    def _on_failed(self, info: Failure) -> None:
        self._failure = info

    def _on_cancelled(self) -> None:
        self._cancelled = True

    def _on_worker_finished(self) -> None:
        self.watch.stop()
        if self._abort is not None:
            self._finish("failed", str(self._abort))
        elif self._failure is not None:
            info = self._failure
            oom = (info.device or "cpu") if info.kind == "oom" else None
            message = info.message or (errors.out_of_memory(oom) if oom else "Style transfer failed.")
            self._finish("failed", message, oom_device=oom)
        elif self._cancelled:
            self._finish("cancelled", CANCELLED)
        elif len(self.results) == len(self.jobs):
            self._insert_or_ask()
        else:
            self._finish("failed", errors.unexpected(RuntimeError("the worker stopped early")))

    # ------------------------------------------------------------------ watching the document
    def _watch(self) -> None:
        if self._abort is not None or not self.jobs:
            return
        document = self.jobs[0].document
        if not layers.document_is_open(document):
            self._abort = errors.document_closed()
        elif all(layers.find_node(document, job.source_id) is None for job in self.jobs):
            names = ", ".join(job.source_name for job in self.jobs)
            self._abort = errors.layer_gone(names)
        if self._abort is not None:
            self.cancel()

    # ------------------------------------------------------------------ results
    def _insert_or_ask(self) -> None:
        """Insert the results, unless a source was painted on during the run: then ask first."""
        changed = [job.source_name for job in self.jobs if _kind(job).changed_since_read(job)]
        if not changed:
            self._insert_all()
            return
        from nst_core import meanwhile

        self.state = "asking"
        self.progress.ask(meanwhile.TITLE, meanwhile.changed_sentence(changed), meanwhile.KEEP, meanwhile.AGAIN)

    def _insert_all(self) -> None:
        skipped = []
        for index, job in enumerate(self.jobs):
            try:
                insert = animation.insert if isinstance(job, animation.AnimationJob) else jobs.insert_result
                self.new_nodes.append(insert(job, self.results[index]))
            except errors.DocumentClosed as error:
                self._finish("failed", str(error))
                return
            except errors.PluginError as error:
                skipped.append(str(error))
        if skipped and not self.new_nodes:
            self._finish("failed", " ".join(skipped))
        elif skipped:
            self._finish("done", " ".join(skipped), note=True)
        else:
            self._finish("done", "")

    def _finish(self, state: str, message: str, oom_device=None, note: bool = False) -> None:
        for job in self.jobs:  # an animation's styled frames, inserted or not wanted any more
            animation.discard(job)
        self.state = state
        self.message = message
        if state == "failed":
            self.progress.show_problem(message, oom_device=oom_device)
        elif state == "cancelled":  # said, not just closed: the painter sees the click took effect
            self.progress.show_note("Cancelled", message, finished=False)
        elif note:
            self.progress.show_note("Done, with a problem", message)
        else:
            self.progress.hide()
        self.finished.emit(state)

    def _effective_size(self) -> int:
        size = self.options.get("size")
        if not size:
            try:
                config = engine_bridge.build_config(engine_bridge.load(), self.preset, **self.options)
                size = config.size
            except Exception:
                size = None
        if not size:
            index = min((i for i in range(len(self.jobs)) if i not in self.results), default=0)
            size = max(self.jobs[index].content.shape[:2])
        return int(size)


def _kind(job):
    """The module that reads and checks ``job``: plugin/animation.py for a clip, else plugin/jobs.py."""
    return animation if isinstance(job, animation.AnimationJob) else jobs
