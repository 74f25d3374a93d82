"""The background thread that runs the engine, so Krita's interface never blocks.

The worker only sees numpy arrays (``LayerJob.content/alpha/mask/fmt``) and the style;
it never touches the Krita API. Results go back to the GUI thread through queued signals.

One engine thread serves every run of the session (:func:`engine_thread`): a new thread
per run made glibc give each one its own malloc arenas, and Krita grew by ~25 MB a run.
After each run the C heap is trimmed (``malloc_trim``) so what torch freed goes back to
the system.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

from . import animation, engine_bridge, errors, jobs
from .qt import QtCore, pyqtSignal

QObject = QtCore.QObject


@dataclass(frozen=True)
class Progress:
    """One step of one layer, sent from the engine thread to the progress window."""

    index: int  #: which layer job (0-based)
    count: int  #: how many layer jobs in the run
    step: int
    total: int
    elapsed: float  #: seconds since this layer started
    eta: Optional[float]  #: seconds left for this layer, None while unknown
    preview: Any = None  #: H×W×3 uint8 numpy array, or None
    done: float = 0.0  #: share of this layer's work done (0–1): the measure the time left comes from
    frame: int = 0  #: for an animation (plugin/animation.py): the frame being styled (1-based)
    frames: int = 0  #: and how many it has; 0 for a single picture


def work_done(elapsed: float, remaining: Optional[float], step: int, total: int) -> float:
    """The share of the work done, read off the engine's own time left (fine steps count as
    what they cost), so the bar and "about … left" agree; steps only while no time is known."""
    if remaining is not None and elapsed + remaining > 0:
        return elapsed / (elapsed + remaining)
    return step / total if total else 0.0


@dataclass(frozen=True)
class Failure:
    """Why a run stopped, in the plain sentence the painter sees."""

    kind: str  #: "oom", a PluginError's kind, an NSTError's class name, or "error"
    message: Optional[str]
    device: Optional[str] = None  #: for "oom": the device that ran out
    index: int = 0  #: the layer job that failed


@dataclass(frozen=True)
class EngineInfo:
    """What the dialog learns from the engine thread: where "Automatic" runs, and how fast."""

    device: str  #: what "Automatic" resolves to here: "cpu", "cuda" or "mps"
    name: str  #: "CPU" or the GPU's name
    rate: Any = None  #: nst_core.schedule.Rate measured now for the device asked about, or None
    problem: Optional[str] = None  #: the engine could not be loaded (the dialog already says why)


class EngineProbe(QObject):
    """Loads the engine on the engine thread while the dialog is open (so the first run starts
    at once), names the device "Automatic" will use and, if this machine's speed on the chosen
    device is not known yet, measures it (``nst_core.calibrate``, a few seconds, remembered)."""

    #: an :class:`EngineInfo`
    ready = pyqtSignal(object)

    def request(self, choice: str, known: tuple) -> None:
        """Probe for the device ``choice`` ("auto", "cpu"); ``known``: devices already measured."""
        engine_thread().submit(lambda: self._probe(choice, tuple(known)))

    def _probe(self, choice: str, known: tuple) -> None:  # engine thread
        try:
            nst_core = engine_bridge.load()
            auto = nst_core.available_device("auto")
            device = auto if choice == "auto" else nst_core.available_device(choice)
            rate = None if device in known else nst_core.calibrate(device)
            info = EngineInfo(auto, nst_core.device_name(auto), rate)
        except Exception as error:  # noqa: BLE001 — an estimate is a nicety; runs report their own errors
            info = EngineInfo("", "", None, str(error))
        try:
            self.ready.emit(info)
        except RuntimeError:  # the dialog was closed meanwhile
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


_ENGINE_THREAD = None
_ENGINE_LOCK = threading.Lock()


def engine_thread() -> EngineThread:
    global _ENGINE_THREAD
    with _ENGINE_LOCK:
        if _ENGINE_THREAD is None:
            _ENGINE_THREAD = EngineThread()
        return _ENGINE_THREAD


def _progress(p, index: int, count: int, elapsed: float) -> Progress:
    """The engine's report (``nst_core.Progress``, or ``FrameProgress`` for an animation,
    whose time left and work done are the whole clip's) as the progress window shows it."""
    frame, frames, clip = getattr(p, "frame", 0), getattr(p, "frames", 0) or 0, p
    if frame:
        p = p.step
    eta = clip.remaining  # from the work done, fine steps counting as what they cost
    preview = None if p.preview is None else (p.preview.clip(0, 1) * 255 + 0.5).astype("uint8")
    if frame:
        done = work_done(clip.elapsed, eta, frame - 1, frames)
    else:
        done = work_done(p.elapsed, eta, p.step, p.total)
    return Progress(index, count, p.step, p.total, elapsed, eta, preview, done, frame, frames)


class StyleWorker(QObject):
    """One run's jobs, executed on the shared :func:`engine_thread`; the QThread-like API
    (``start``, ``isRunning``, ``wait``, ``finished``) the controller uses."""

    #: a :class:`Progress`
    progressed = pyqtSignal(object)
    #: index of the job, bytes of its result layer
    job_done = pyqtSignal(int, object)
    #: a :class:`Failure`
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
            self.engine_ready.emit()
            count = len(self.layer_jobs)
            for index in range(self.start_index, count):
                self.index = index
                if self.cancel_event.is_set():
                    raise nst_core.Cancelled()
                started = time.monotonic()

                def report(p, index=index, started=started):
                    self.progressed.emit(_progress(p, index, count, time.monotonic() - started))

                job = self.layer_jobs[index]
                style_one = animation.style if isinstance(job, animation.AnimationJob) else jobs.style_job
                data = style_one(nst_core, job, self.style, config, progress=report, cancel=self.cancel_event)
                self.job_done.emit(index, data)
        except BaseException as error:  # noqa: B902 — nothing may escape a QThread
            self._report(nst_core, error)

    def _report(self, nst_core, error: BaseException) -> None:
        if nst_core is not None and isinstance(error, nst_core.Cancelled):
            self.cancelled.emit()
            return
        if isinstance(error, errors.PluginError):
            failure = Failure(error.kind, str(error), index=self.index)
        elif nst_core is not None and isinstance(error, nst_core.OutOfMemory):
            failure = Failure("oom", str(error), getattr(error, "device", None), self.index)
        elif isinstance(error, MemoryError):
            failure = Failure("oom", errors.out_of_memory("cpu"), "cpu", self.index)
        elif nst_core is not None and isinstance(error, nst_core.NSTError):
            failure = Failure(type(error).__name__, str(error), index=self.index)
        else:
            failure = Failure("error", errors.unexpected(error), index=self.index)
        self.failed.emit(failure)
