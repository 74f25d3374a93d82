"""The engine process: ``python -m gimp_plugin.worker``, run with a Python that has torch.

The GIMP side (:mod:`.bridge`) writes one JSON request line to stdin::

    {"style": PATH, "preset": "fast", "options": {"steps": 0, "size": 0, "seed": 1, ...},
     "workdir": DIR, "jobs": [{"input": A.npy, "mask": B.npy or null, "output": C.npy}]}

``input`` is H×W×4 float32 (sRGB-encoded R'G'B'A as Gegl gives it), ``mask`` H×W
float32 selection strength. A painting that is a GIMP layer comes as such an ``.npy`` file
(its transparent parts are put over white). Regions: ``"styles"`` lists the paintings and
each job's ``"regions"`` one H×W mask file per painting (null: that painting paints the rest),
handed to the engine's ``masks=``. Each ``output`` gets H×W×4 float32: the styled colour and
the source's alpha times the selection. Progress and the outcome are JSON lines on
stdout (``ready``, ``progress``, ``done``, ``finished`` / ``cancelled`` / ``error``).
A ``cancel`` line on stdin, or stdin closing (GIMP ended the plug-in), stops within one
optimisation step; after stdin closes the worker also removes ``workdir``. Progress events
carry the share of the run's work done (``fraction``), the seconds left (``remaining``) and,
every few steps, a small ``preview`` (raw 8-bit RGB in ``workdir``).

``python -m gimp_plugin.worker --estimate`` is the dialog's helper: it answers each JSON
line (the style, settings and the selected layers' areas) with the cost line the dialog shows
before the click — the finished size and the time, from the same plan the run makes
(:func:`job_config`, ``nst_core.schedule``) priced by this machine's measured step cost
(``nst_core.calibrate``, kept in a JSON file the GIMP side names), and any refusal the run
would end in (an unreadable painting, too little memory).
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
from nst_core.limits import MIN_SIDE  # the engine refuses smaller sides; smaller areas are padded


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
    if options.get("preview"):
        overrides["preview_every"] = PREVIEW_EVERY
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


def padded(height: int, width: int) -> tuple:
    """The area the engine works on: a tiny layer or selection is padded to MIN_SIDE."""
    return max(MIN_SIDE, int(height)), max(MIN_SIDE, int(width))


def job_config(nst_core, config, hw: tuple, style_hw: tuple, device: str):
    """The settings one area is styled with — what the run uses and what the dialog's cost line
    plans for, so the two never disagree: the working size capped to what the area can use
    (``nst_core.limits.working_size_cap``), and a finish at the layer's own size lowered to
    what the free memory of ``device`` holds (``nst_core.memory.largest_finish``)."""
    from nst_core.limits import working_size_cap
    from nst_core.memory import largest_finish

    cap = working_size_cap(*hw)
    if config.size and int(config.size) > cap:
        config = dataclasses.replace(config, size=cap)
    if config.finish_size:  # a layer too big for the free memory is finished as large as fits, then scaled
        config = dataclasses.replace(config, finish_size=largest_finish(hw, [style_hw], config, device))
    return config


def style_size(style: str) -> tuple:
    """(height, width) of the painting from its header (BadImage in plain words if unreadable)."""
    from nst_core.limits import image_file_size

    width, height = image_file_size(style, "style image")
    return height, width


def load_style(np, style: str):
    """A painting for the engine: a file path as it is, a layer's ``.npy`` as RGB over white."""
    if not str(style).endswith(".npy"):
        return style
    values = np.clip(np.nan_to_num(np.load(style)), 0.0, 1.0)
    alpha = values[:, :, 3:]
    return np.ascontiguousarray(values[:, :, :3] * alpha + (1.0 - alpha), dtype=np.float32)


def painting_size(style) -> tuple:
    """(height, width) of a painting as :func:`load_style` gives it."""
    return tuple(style.shape[:2]) if hasattr(style, "shape") else style_size(style)


def paintings(np, request: dict):
    """The run's painting, or its list of paintings when it paints regions."""
    styles = request.get("styles")
    if styles:
        return [load_style(np, s) for s in styles]
    return load_style(np, request["style"])


def region_masks(np, job: dict, hw: tuple):
    """The engine's ``masks=`` for one job (None without regions), padded like its content."""
    if not job.get("regions"):
        return None
    masks = []
    for path in job["regions"]:
        mask = None if path is None else np.clip(np.nan_to_num(np.load(path)), 0.0, 1.0)
        if mask is not None and mask.shape != hw:
            mask = np.pad(mask, ((0, hw[0] - mask.shape[0]), (0, hw[1] - mask.shape[1])), mode="edge")
        masks.append(mask)
    return masks


def read_job(np, job: dict) -> tuple:
    """(RGB the engine styles, padded to MIN_SIDE; the result's alpha) of one layer's area."""
    pixels = np.load(job["input"])
    height, width = pixels.shape[:2]
    rgb = np.clip(np.nan_to_num(pixels[:, :, :3]), 0.0, 1.0)  # HDR floats are clipped
    alpha = np.clip(pixels[:, :, 3], 0.0, 1.0)
    if job.get("mask"):
        alpha = alpha * np.clip(np.load(job["mask"]), 0.0, 1.0)
    hw = padded(height, width)
    if hw != (height, width):  # a tiny layer or selection: repeat its edges, crop after
        rgb = np.pad(rgb, ((0, hw[0] - height), (0, hw[1] - width), (0, 0)), mode="edge")
    return np.ascontiguousarray(rgb, dtype=np.float32), alpha


def write_job(np, job: dict, image, alpha) -> None:
    """The result layer's pixels: the styled area (cropped back from any padding) with ``alpha``."""
    height, width = alpha.shape
    out = np.concatenate([np.clip(image[:height, :width, :3], 0.0, 1.0), alpha[:, :, None]], axis=2).astype("<f4")
    partial = job["output"] + ".part.npy"
    np.save(partial, np.ascontiguousarray(out))
    os.replace(partial, job["output"])


def style_one(np, nst_core, job: dict, style, config, progress, cancel) -> None:
    """Style one layer's area (with its regions' masks, if any) and write its result layer's pixels."""
    rgb, alpha = read_job(np, job)
    hw = rgb.shape[:2]
    first = style[0] if isinstance(style, list) else style
    config = job_config(nst_core, config, hw, painting_size(first), nst_core.available_device(config.device))
    masks = region_masks(np, job, hw)
    regions = {} if masks is None else {"masks": masks}
    result = nst_core.stylize(rgb, style, config, progress=progress(config, hw), cancel=cancel, **regions)
    write_job(np, job, result.image, alpha)


def style_frames(np, nst_core, jobs: list, style: str, config, reporters: list, channel, cancel) -> None:
    """The jobs as the frames of one animation, first job first (nst_core.stylize_frames: each
    frame after the first starts from the previous result warped along the frames' motion)."""
    from nst_core.animation import later_frame_config

    alphas = []

    def frames():  # read one at a time: memory holds a few frames, not the clip
        for job in jobs:
            rgb, alpha = read_job(np, job)
            alphas.append(alpha)
            yield rgb

    hw = padded(*np.load(jobs[0]["input"], mmap_mode="r").shape[:2])
    config = job_config(nst_core, config, hw, painting_size(style), nst_core.available_device(config.device))
    plans = [reporter.for_plan(config if index == 0 else later_frame_config(config), hw)
             for index, reporter in enumerate(reporters)]

    def report(p) -> None:  # the time left is the clip's
        plans[p.frame - 1](dataclasses.replace(p.step, remaining=p.remaining))

    results = nst_core.stylize_frames(frames(), style, config, report, cancel, count=len(jobs))
    for index, result in enumerate(results):
        write_job(np, jobs[index], result.image, alphas[index])
        channel.send("done", job=index)


#: a preview every this many steps (the engine copies the picture off the device for it)
PREVIEW_EVERY = 5
#: the preview's long side in px
PREVIEW_SIDE = 256


class Reporter:
    """Turns the engine's progress into ``progress`` events: step, share of the work done (by
    the run's plan, so coarse steps count little), seconds left, and a preview file now and then."""

    def __init__(self, channel: Channel, index: int, jobs: int, workdir: str, started: float) -> None:
        self.channel, self.index, self.jobs, self.workdir, self.started = channel, index, jobs, workdir, started
        self.plan = None
        self.size = None

    def for_plan(self, config, hw):
        from nst_core import schedule

        self.plan = schedule.levels(hw, config)
        self.size = list(self.plan[-1].size)
        return self

    def __call__(self, p) -> None:
        from nst_core import schedule

        fields = {"job": self.index, "jobs": self.jobs, "step": p.step, "total": p.total,
                  "elapsed": round(time.monotonic() - self.started, 2), "size": list(p.size),
                  "finish": self.size, "fraction": round(schedule.done_fraction(self.plan, p.step), 4),
                  "remaining": None if p.remaining is None else round(p.remaining, 1)}
        if p.preview is not None and self.workdir:
            fields["preview"] = self.write_preview(p.preview)
        self.channel.send("progress", **fields)

    def write_preview(self, rgb) -> dict:
        """The picture so far as raw 8-bit RGB (GdkPixbuf reads it without numpy or PIL)."""
        from PIL import Image

        image = Image.fromarray((rgb.clip(0, 1) * 255 + 0.5).astype("uint8"), "RGB")
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.BILINEAR)
        path = os.path.join(self.workdir, f"preview-{self.index}.rgb")
        with open(path + ".part", "wb") as handle:
            handle.write(image.tobytes())
        os.replace(path + ".part", path)
        return {"path": path, "width": image.width, "height": image.height}


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
        style = paintings(np, request)
        if request.get("animation") and len(jobs) > 1:
            reporters = [Reporter(channel, index, len(jobs), request.get("workdir") or "", time.monotonic())
                         for index in range(len(jobs))]
            style_frames(np, nst_core, jobs, style, config, reporters, channel, watcher.cancel)
            return "finished", {}
        for index, job in enumerate(jobs):
            if watcher.cancel.is_set():
                raise nst_core.Cancelled()
            reporter = Reporter(channel, index, len(jobs), request.get("workdir") or "", time.monotonic())
            style_one(np, nst_core, job, style, config, reporter.for_plan, watcher.cancel)
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


# --- the dialog's cost line (``--estimate``) -------------------------------------------

#: what a run costs besides its steps that the start-up measurement does not see: reading and
#: writing the layers, building the network, the painting's statistics at each level
RUN_OVERHEAD = 1.0


class Costs:
    """Measured step costs per device (``nst_core.calibrate``) and the engine's start-up time,
    kept in a JSON file between GIMP sessions: {device: {"per_pixel", "per_tile", "startup"}}."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            self.known = {str(k): v for k, v in data.items() if isinstance(v, dict)
                          and float(v.get("per_pixel", 0)) > 0 and float(v.get("per_tile", 0)) >= 0}
        except (OSError, ValueError, TypeError, AttributeError):
            self.known = {}

    def rate(self, device: str):
        from nst_core.schedule import Rate

        measured = self.known.get(device)
        if not measured:
            return None, 0.0
        return Rate(device, float(measured["per_pixel"]), float(measured["per_tile"])), float(measured.get("startup", 0))

    def measure(self, nst_core, device: str, startup: float) -> None:
        rate = nst_core.calibrate(device)
        self.known[device] = {"per_pixel": rate.per_pixel, "per_tile": rate.per_tile, "startup": round(startup, 2)}
        if self.path:
            try:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                with open(self.path + ".part", "w", encoding="utf-8") as handle:
                    json.dump(self.known, handle)
                os.replace(self.path + ".part", self.path)
            except OSError:
                pass  # only means measuring again next time


_STYLES: dict = {}


def checked_style(style) -> tuple:
    """The painting's (height, width) after decoding it as the run will (so a damaged file is
    refused in the dialog, not after the click); NSTError in plain words. Cached per file version."""
    from nst_core import limits
    from nst_core.errors import BadImage

    if not style:
        raise BadImage("No style image is chosen: pick a painting in 'Style file'.")
    try:
        stat = os.stat(style)
    except OSError:
        stat = None
    key = (style, stat and stat.st_mtime_ns, stat and stat.st_size)
    if key not in _STYLES:
        try:
            image = limits.open_image(style, "style image")
            _STYLES[key] = (image.height, image.width)
            image.close()
        except BadImage as error:
            _STYLES[key] = error
    found = _STYLES[key]
    if isinstance(found, Exception):
        raise found
    return found


def device_label(nst_core, device: str) -> str:
    return f"the {nst_core.device_name(device)}"


def estimate(nst_core, request: dict, costs: Costs) -> dict:
    """The cost line for ``request``: {"text", "problem", "long", "seconds", "size", "device"}.

    ``size`` is the largest finished (width, height) over the areas (what the engine's last
    level works at); ``seconds`` None while the device has not been measured yet. A painting
    that is a layer comes as its ``style_size`` (height, width) instead of a file.
    """
    from nst_core import costline, memory

    shapes = request.get("shapes") or []
    try:
        config = build_config(nst_core, request.get("preset"), request.get("options") or {})
        config.validate()
        style_hw = tuple(request["style_size"]) if request.get("style_size") else checked_style(request.get("style"))
        if not shapes:
            return {"text": "", "problem": None}
        device = nst_core.available_device(config.device)
        rate, startup = costs.rate(device)
        planned = []
        for shape in shapes:
            hw = padded(shape["height"], shape["width"])
            job = job_config(nst_core, config, hw, style_hw, device)
            memory.check(hw, [style_hw], job, device)
            planned.append((hw, job))
        cost = costline.plan(planned, config.finish_size, rate, per_run=RUN_OVERHEAD)
    except nst_core.NSTError as error:
        return {"text": "", "problem": str(error)}
    area = "selection" if any(shape.get("selection") for shape in shapes) else "layer"
    areas = [(s["height"], s["width"]) for s in shapes]
    total = None if cost.seconds is None else cost.seconds + startup
    height, width = cost.size
    return {"size": [width, height], "device": device, "problem": None, "long": costline.is_long(total),
            "seconds": None if total is None else round(total, 1),
            "text": costline.describe(cost, areas, area, device_label(nst_core, device), startup)}


def serve_estimates(channel: Channel, stream) -> int:
    """Answer the dialog's requests until stdin closes; the newest request wins (older ones
    that arrive while one is being answered are skipped), and a device not measured yet is
    measured once (a few seconds), after which the newest request is answered again."""
    started = time.monotonic()
    pending: list = []
    arrived = threading.Condition()
    closed = threading.Event()

    def read() -> None:
        for line in stream:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            with arrived:
                pending[:] = [request]
                arrived.notify()
        closed.set()
        with arrived:
            arrived.notify()

    threading.Thread(target=read, daemon=True).start()
    import nst_core

    costs, engine = None, None
    while True:
        with arrived:
            while not pending and not closed.is_set():
                arrived.wait()
            if closed.is_set() and not pending:
                return 0
            request = pending.pop()
        if costs is None:
            costs = Costs(request.get("costs") or "")
        try:
            answer = estimate(nst_core, request, costs)
            channel.send("estimate", id=request.get("id"), **answer)
            device = answer.get("device")
            if device and answer.get("seconds") is None and not answer.get("problem"):
                if engine is None:  # what a run's fresh worker pays too: torch, the engine, the weights
                    import nst_core.engine  # noqa: F401
                    from nst_core.weights import find_weights, load_weights

                    load_weights(find_weights())
                    engine = time.monotonic() - started
                costs.measure(nst_core, device, engine)
                with arrived:
                    if not pending:
                        pending.append(request)
        except Exception as error:  # noqa: BLE001 — an estimate is a nicety; the run reports its own errors
            import traceback

            traceback.print_exc()
            channel.send("estimate", id=request.get("id"), text="", problem=None, failed=str(error)[:200])


def main() -> int:
    channel = Channel()
    if "--estimate" in sys.argv[1:]:
        return serve_estimates(channel, sys.stdin)
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
