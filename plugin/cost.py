"""What a run will cost, said in the dialog before the click: its size in pixels, the time
on this machine's device, a warning for long runs and a refusal for sizes that do not fit.

The time is the run's plan (``nst_core.schedule``: every level, its steps and tiles, for
exactly the settings each layer will be styled with, ``jobs.job_config``) priced with the
step cost measured on this machine (``nst_core.calibrate``, kept in the settings). The
memory check is the engine's own (``nst_core.memory``). On the CPU nothing here imports
torch (a GPU's free memory is asked of torch, which the dialog's engine probe has loaded
by then), so the GUI thread may call it on every change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from nst_core.schedule import NBSP, format_seconds  # noqa: F401 (re-exported: the dialog and progress window)

from . import engine_bridge, jobs

#: loading torch and the network before the first run of a session
ENGINE_LOAD_SECONDS = 5


@dataclass(frozen=True)
class Shape:
    """One target layer's area: what the estimate needs, read without decoding any pixel."""

    height: int
    width: int
    whole_long_side: int = 0  #: the whole layer's long side when the area is a selected patch
    selected: bool = False  #: the area is cut to the selection (the cost line then says "selection", not "layer")


@dataclass(frozen=True)
class Estimate:
    text: str  #: one line: the finest size, the time, where it runs
    long: bool = False  #: over nst_core.costline.LONG_RUN_SECONDS: shown as a warning
    problem: Optional[str] = None  #: the run cannot fit: shown as a refusal, Stylize disabled
    seconds: Optional[float] = None




def estimate(preset: str, options: dict, shapes: Sequence[Shape], style_hw: Optional[Tuple[int, int]],
             device: str, device_label: str, rate, engine_loaded: bool = False, frames: int = 1) -> Estimate:
    """The dialog's cost line for styling ``shapes`` with these settings on ``device``.

    ``rate`` is an ``nst_core.schedule.Rate`` measured on ``device`` (None while unknown);
    ``frames`` > 1: the one shape is an animation's keyframes (the later ones cost less).
    """
    import nst_core
    from nst_core import costline, memory

    if not shapes:
        return Estimate("")
    try:
        config = engine_bridge.build_config(nst_core, preset, **options)
    except nst_core.NSTError as error:
        return Estimate("", problem=str(error))
    planned = []
    for shape in shapes:
        hw = (shape.height, shape.width)
        job = jobs.job_config(config, *hw, shape.whole_long_side, style_hw, device)
        try:
            memory.check(hw, [style_hw] if style_hw else [], job, device)
        except nst_core.OutOfMemory as error:
            return Estimate("", problem=str(error))
        planned.append((hw, job))
    areas = [hw for hw, _ in planned]
    if frames > 1:  # an animation: frames after the first run nst_core.animation's shorter plan
        from nst_core.config import later_frame_config

        planned += [(hw, later_frame_config(job)) for hw, job in planned[:1]] * (frames - 1)
    cost = costline.plan(planned, config.finish_size, rate)
    overhead = 0.0 if engine_loaded else ENGINE_LOAD_SECONDS
    area = "selection" if any(shape.selected for shape in shapes) else "layer"
    text = costline.describe(cost, areas, area, device_label, overhead)
    if frames > 1:
        text = f"{frames} frames of {text}"
    total = None if cost.seconds is None else cost.seconds + overhead
    return Estimate(text, long=costline.is_long(total), seconds=total)
