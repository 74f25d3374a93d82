"""The engine process: ``python -m gimp_plugin.worker``, run with a Python that has torch.

The GIMP side (:mod:`.bridge`) writes one JSON request line to stdin::

    {"style": PATH, "preset": "fast", "options": {"steps": 0, "size": 0, "seed": 1, ...},
     "workdir": DIR, "jobs": [{"input": A.npy, "mask": B.npy or null, "output": C.npy}]}

``input`` is H×W×4 float32 (sRGB-encoded R'G'B'A as Gegl gives it), ``mask`` H×W
float32 selection strength. Each ``output`` gets H×W×4 float32: the styled colour and
the source's alpha times the selection. Progress and the outcome are JSON lines on
stdout (``ready``, ``progress``, ``done``, ``finished`` / ``cancelled`` / ``error``).
A ``cancel`` line on stdin, or stdin closing (GIMP ended the plug-in), stops within one
optimisation step; after stdin closes the worker also removes ``workdir``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import threading
import time

from nst_core.config import DEFAULT_PRESET, DETAIL_CHOICES, FINISH_AT_CONTENT

#: the engine refuses images smaller than this on a side; smaller areas are padded
MIN_SIDE = 16


class Channel:
    """JSON lines to the GIMP side on a private copy of stdout.

    File descriptor 1 itself is pointed at stderr, so nothing a library prints can
    corrupt the protocol.
    """

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def send(self, event: str, **fields) -> None:
        line = json.dumps({"event": event, **fields})
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (BrokenPipeError, OSError):
                pass  # the plug-in is gone; the stdin watcher stops us


class StdinWatcher(threading.Thread):
    """Sets ``cancel`` on a ``cancel`` line or when stdin closes (``closed`` is then set too)."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.cancel = threading.Event()
        self.closed = threading.Event()

    def run(self) -> None:
        for line in self.stream:
            if line.strip() == "cancel":
                self.cancel.set()
        self.closed.set()
        self.cancel.set()


def build_config(nst_core, preset: str, options: dict):
    """A StyleConfig from the dialog's values: 0 or empty means "the preset's value"."""
    overrides = {}
    for key in ("steps", "size"):
        if options.get(key):
            overrides[key] = int(options[key])
    if options.get("seed") is not None:
        overrides["seed"] = int(options["seed"])
    if options.get("style_scale"):
        overrides["style_scale"] = float(options["style_scale"])
    colours = options.get("preserve_colors")
    if colours:
        overrides["preserve_colors"] = None if colours == "none" else colours
    if options.get("device"):
        overrides["device"] = options["device"]
    detail = options.get("detail") or DETAIL_CHOICES[0][0]
    if detail not in dict(DETAIL_CHOICES):
        raise nst_core.BadConfig(f"Unknown detail '{detail}': use {' or '.join(dict(DETAIL_CHOICES))}.")
    if detail == "layer":
        overrides["finish_size"] = FINISH_AT_CONTENT  # coarse-to-fine on up to the layer's own size
    config = nst_core.StyleConfig.from_preset(preset or DEFAULT_PRESET, **overrides)
    strength = float(options.get("style_strength") or 1.0)
    if strength <= 0:
        raise nst_core.BadConfig(f"Style strength {strength} is out of range: use a value above 0.")
    config.style_weight *= strength
    return config


def style_one(np, nst_core, job: dict, style: str, config, progress, cancel) -> None:
    """Style one layer's area and write its result layer's pixels."""
    pixels = np.load(job["input"])
    height, width = pixels.shape[:2]
    rgb = np.clip(np.nan_to_num(pixels[:, :, :3]), 0.0, 1.0)  # HDR floats are clipped
    alpha = np.clip(pixels[:, :, 3], 0.0, 1.0)
    if job.get("mask"):
        alpha = alpha * np.clip(np.load(job["mask"]), 0.0, 1.0)
    pad_y, pad_x = max(0, MIN_SIDE - height), max(0, MIN_SIDE - width)
    if pad_y or pad_x:  # a tiny layer or selection: repeat its edges, crop after
        rgb = np.pad(rgb, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
    if config.finish_size:  # a layer too big for the free memory is finished as large as fits, then scaled
        from nst_core.limits import image_file_size
        from nst_core.memory import largest_finish

        style_w, style_h = image_file_size(style, "style image")
        finish = largest_finish(rgb.shape[:2], [(style_h, style_w)], config, nst_core.available_device(config.device))
        config = dataclasses.replace(config, finish_size=finish)
    result = nst_core.stylize(np.ascontiguousarray(rgb, dtype=np.float32), style, config,
                              progress=progress, cancel=cancel)
    styled = np.clip(result.image[:height, :width, :3], 0.0, 1.0)
    out = np.concatenate([styled, alpha[:, :, None]], axis=2).astype("<f4")
    partial = job["output"] + ".part.npy"
    np.save(partial, np.ascontiguousarray(out))
    os.replace(partial, job["output"])


def run(request: dict, channel: Channel, watcher: StdinWatcher) -> tuple:
    """Style every job; returns the final event (name, fields), which ``main`` sends."""
    try:
        import numpy as np
        import nst_core
    except ImportError as error:
        return "error", {"kind": "engine-missing",
                         "message": f"The engine's Python ({sys.executable}) cannot import {error.name or error}: "
                                    "run 'python3 install.py --gimp' again, then restart GIMP."}
    jobs = request["jobs"]
    try:
        config = build_config(nst_core, request.get("preset"), request.get("options") or {})
        channel.send("ready", device=nst_core.available_device(config.device))
        for index, job in enumerate(jobs):
            if watcher.cancel.is_set():
                raise nst_core.Cancelled()
            started = time.monotonic()

            def report(p, index=index, started=started):
                channel.send("progress", job=index, jobs=len(jobs), step=p.step, total=p.total,
                             elapsed=round(time.monotonic() - started, 2))

            style_one(np, nst_core, job, request["style"], config, report, watcher.cancel)
            channel.send("done", job=index)
    except nst_core.Cancelled:
        return "cancelled", {}
    except nst_core.NSTError as error:
        kind = "oom" if isinstance(error, nst_core.OutOfMemory) else type(error).__name__
        return "error", {"kind": kind, "message": str(error)}
    except MemoryError:
        return "error", {"kind": "oom", "message": "Style transfer ran out of memory: retry with a smaller "
                                                   "working size (Advanced ▸ Size)."}
    return "finished", {}


def main() -> int:
    channel = Channel()
    line = sys.stdin.readline()
    try:
        request = json.loads(line)
    except ValueError:
        channel.send("error", kind="protocol", message="The engine got no request from GIMP.")
        return 2
    watcher = StdinWatcher(sys.stdin)
    watcher.start()
    try:
        outcome, fields = run(request, channel, watcher)
    except Exception as error:  # noqa: BLE001 — reported as one line, never a traceback to the painter
        import traceback

        traceback.print_exc()  # stderr: the plug-in keeps it in its log
        outcome, fields = "error", {
            "kind": "unexpected",
            "message": f"Style transfer failed unexpectedly ({type(error).__name__}: {error}). "
                       "Nothing in the image was changed; please report this with the steps that led to it."}
    if watcher.closed.is_set():  # the plug-in went away (GIMP ended it): nobody to tell; clean up for it
        if request.get("workdir"):
            shutil.rmtree(request["workdir"], ignore_errors=True)
    else:
        channel.send(outcome, **fields)
    return 0 if outcome in ("finished", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
