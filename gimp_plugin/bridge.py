"""Starting the engine worker and talking to it (GIMP side; stdlib only).

``engine.json`` (written by ``install.py --gimp`` beside the entry script) names the
Python that has torch. The worker is ``python -m gimp_plugin.worker`` with the plug-in
folder (holding ``gimp_plugin`` and ``nst_core``) on ``PYTHONPATH``; it is started in
the plug-in's own process group, so when GIMP ends the plug-in (the progress bar's
cancel) the worker ends with it, and it also stops by itself when its stdin closes.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

from . import ENGINE_FILE, messages, npy

TEMP_PREFIX = "nst-gimp-"
#: worker folders left behind by a killed plug-in are removed after this many seconds
STALE_AFTER = 24 * 3600


def plugin_root() -> str:
    """The folder holding ``gimp_plugin/`` (and, installed, ``nst_core/`` and engine.json)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def engine_python(root: Optional[str] = None) -> str:
    """The engine's interpreter from engine.json; a plain-words error when it is not set up."""
    root = root or plugin_root()
    path = os.path.join(root, ENGINE_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            python = json.load(handle)["python"]
    except FileNotFoundError:
        raise messages.engine_not_installed(f"{path} is missing") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise messages.engine_not_installed(f"{path} is damaged") from None
    if not os.path.isfile(python):
        raise messages.engine_not_installed(f"its Python {python} no longer exists")
    return python


@dataclass
class Job:
    """One layer's area, as files the worker reads and writes."""

    input: str
    mask: Optional[str]
    output: str
    regions: Optional[list] = None  #: one mask file per painting (None: the rest), with regions

    def as_dict(self) -> dict:
        return {"input": self.input, "mask": self.mask, "output": self.output, "regions": self.regions}


class WorkDir:
    """A private temporary folder for one run's .npy files (removed by :meth:`close`)."""

    def __init__(self) -> None:
        remove_stale()
        self.path = tempfile.mkdtemp(prefix=TEMP_PREFIX)
        self.jobs: List[Job] = []

    def add(self, rgba: bytes, mask: Optional[bytes], width: int, height: int) -> Job:
        index = len(self.jobs)
        job = Job(os.path.join(self.path, f"{index}-in.npy"),
                  os.path.join(self.path, f"{index}-mask.npy") if mask is not None else None,
                  os.path.join(self.path, f"{index}-out.npy"))
        npy.write(job.input, rgba, (height, width, 4))
        if mask is not None:
            npy.write(job.mask, mask, (height, width))
        self.jobs.append(job)
        return job

    def add_regions(self, job: Job, masks: list, width: int, height: int) -> None:
        """The job's region masks (H×W float32 bytes, or None for "the rest") as files."""
        job.regions = []
        for number, mask in enumerate(masks):
            path = None
            if mask is not None:
                path = job.input.replace("-in.npy", f"-region{number}.npy")
                npy.write(path, mask, (height, width))
            job.regions.append(path)

    def add_painting(self, rgba: bytes, width: int, height: int) -> str:
        """A layer used as the painting, as the worker reads it."""
        path = os.path.join(self.path, "painting.npy")
        npy.write(path, rgba, (height, width, 4))
        return path

    def result(self, job: Job, width: int, height: int) -> bytes:
        data, shape = npy.read(job.output)
        if shape != (height, width, 4):
            raise messages.engine_crashed(f"it returned a {shape} image for a {width}×{height} area")
        return data

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def remove_stale(now: Optional[float] = None) -> None:
    """Remove old worker folders (a plug-in killed mid-run cannot clean up after itself)."""
    now = now or time.time()
    for path in glob.glob(os.path.join(tempfile.gettempdir(), TEMP_PREFIX + "*")):
        try:
            if now - os.path.getmtime(path) > STALE_AFTER:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


ProgressFn = Callable[[dict], None]


def worker_env() -> dict:
    """The engine's environment: GIMP's own Python settings removed, the plug-in folder on the path."""
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(key, None)
    env["PYTHONPATH"] = plugin_root()
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Estimator:
    """The dialog's helper process (``python -m gimp_plugin.worker --estimate``): :meth:`ask`
    sends the current settings, ``on_answer`` gets each reply on GIMP's main loop (a reader
    thread hands them over with ``GLib.idle_add``, which also works with Windows pipes), so the
    dialog never waits for the engine. Ends when the dialog closes (:meth:`close`)."""

    def __init__(self, python: str, on_answer: Callable[[dict], None]) -> None:
        self.on_answer = on_answer
        self.serial = 0
        self.closed = False
        try:
            self.process = subprocess.Popen([python, "-m", "gimp_plugin.worker", "--estimate"], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=worker_env(),
                                            text=True, encoding="utf-8")
        except OSError as error:
            raise messages.engine_not_installed(f"cannot start {python}: {error.strerror or error}") from None
        threading.Thread(target=self._read, daemon=True).start()

    def ask(self, request: dict) -> int:
        self.serial += 1
        try:
            self.process.stdin.write(json.dumps(dict(request, id=self.serial)) + "\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            pass  # it stopped: the reader says so
        return self.serial

    def _deliver(self, event: dict) -> bool:
        if not self.closed:
            self.on_answer(event)
        return False

    def _read(self) -> None:
        from gi.repository import GLib

        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "estimate":
                GLib.idle_add(self._deliver, event)
        GLib.idle_add(self._deliver, {"event": "estimate", "id": self.serial, "text": "", "problem": None,
                                      "failed": "stopped"})

    def close(self) -> None:
        self.closed = True
        try:
            self.process.stdin.close()
        except OSError:
            pass
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Cancelled(Exception):
    """The run was cancelled; nothing was changed."""


def run_worker(python: str, request: dict, progress: Optional[ProgressFn] = None,
               should_cancel: Optional[Callable[[], bool]] = None, log_path: Optional[str] = None) -> None:
    """Run the worker on ``request`` until it finishes; raises PluginError or Cancelled.

    ``progress`` gets every progress event (dicts with job, jobs, step, total, elapsed).
    """
    env = worker_env()
    log = open(log_path, "w", encoding="utf-8") if log_path else subprocess.DEVNULL
    try:
        try:
            process = subprocess.Popen([python, "-m", "gimp_plugin.worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=log, env=env, text=True,
                                       encoding="utf-8", cwd=request.get("workdir") or None)
        except OSError as error:
            raise messages.engine_not_installed(f"cannot start {python}: {error.strerror or error}") from None
        try:
            _converse(process, request, progress, should_cancel)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    finally:
        if log is not subprocess.DEVNULL:
            log.close()


def _converse(process, request, progress, should_cancel) -> None:
    process.stdin.write(json.dumps(request) + "\n")
    process.stdin.flush()
    if should_cancel is not None:
        threading.Thread(target=_cancel_when, args=(process, should_cancel), daemon=True).start()
    outcome = None
    for line in process.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind = event.get("event")
        if kind == "progress" and progress is not None:
            progress(event)
        elif kind in ("ready", "done") and progress is not None:
            progress(event)
        elif kind in ("finished", "cancelled", "error"):
            outcome = event
            break
    try:
        process.stdin.close()
    except OSError:
        pass
    code = process.wait()
    if outcome is None:
        raise messages.engine_crashed(f"exit status {code}")
    if outcome["event"] == "cancelled":
        raise Cancelled()
    if outcome["event"] == "error":
        raise messages.PluginError(outcome.get("message") or "Style transfer failed.")


def _cancel_when(process, should_cancel) -> None:
    while process.poll() is None:
        if should_cancel():
            try:
                process.stdin.write("cancel\n")
                process.stdin.flush()
            except (OSError, ValueError):
                pass
            return
        time.sleep(0.2)
