"""What a run will cost, said in the dialog before the click: its size in pixels, the time
on this machine's device, a warning for long runs and a refusal for sizes that do not fit.

The time is the run's plan (``nst_core.schedule``: every level, its steps and tiles, for
exactly the settings each layer will be styled with, ``jobs.job_config``) priced with the
step cost measured on this machine (``nst_core.calibrate``, kept in the settings). The
memory check is the engine's own (``nst_core.memory``). Nothing here imports torch, so
the GUI thread may call it on every change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from nst_core.schedule import NBSP, format_seconds  # noqa: F401 (re-exported: the dialog and progress window)

from . import engine_bridge, jobs

#: a run longer than this is called long, and the dialog suggests what is quicker
LONG_RUN_SECONDS = 10 * 60
#: loading torch and the network before the first run of a session
ENGINE_LOAD_SECONDS = 5


@dataclass(frozen=True)
class Shape:
    """One target layer's area: what the estimate needs, read without decoding any pixel."""

    height: int
    width: int
    whole_long_side: int = 0  #: the whole layer's long side when the area is a selected patch


@dataclass(frozen=True)
class Estimate:
    text: str  #: one line: the finest size, the time, where it runs
    long: bool = False  #: over LONG_RUN_SECONDS: shown as a warning
    problem: Optional[str] = None  #: the run cannot fit: shown as a refusal, Stylize disabled
    seconds: Optional[float] = None




def estimate(preset: str, options: dict, shapes: Sequence[Shape], style_hw: Optional[Tuple[int, int]],
             device: str, device_label: str, rate, engine_loaded: bool = False) -> Estimate:
    """The dialog's cost line for styling ``shapes`` with these settings on ``device``.

    ``rate`` is an ``nst_core.schedule.Rate`` measured on ``device`` (None while unknown).
    """
    import nst_core
    from nst_core import memory, schedule

    if not shapes:
        return Estimate("")
    try:
        config = engine_bridge.build_config(nst_core, preset, **options)
    except nst_core.NSTError as error:
        return Estimate("", problem=str(error))
    total, largest, capped = 0.0, None, False
    for shape in shapes:
        hw = (shape.height, shape.width)
        job = jobs.job_config(config, *hw, shape.whole_long_side, style_hw, device)
        try:
            memory.check(hw, [style_hw] if style_hw else [], job, device)
        except nst_core.OutOfMemory as error:
            return Estimate("", problem=str(error))
        plan = schedule.levels(hw, job)
        finest = plan[-1].size
        capped = capped or (job.finish_size != config.finish_size and max(finest) < max(hw))
        if largest is None or finest[0] * finest[1] > largest[0] * largest[1]:
            largest = finest
        if rate is not None:
            total += schedule.seconds(plan, rate)
    height, width = largest
    count = f"{len(shapes)} layers, up to " if len(shapes) > 1 else ""
    if capped:
        where = ", as large as the free memory allows, then scaled to the layer"
    elif max(largest) >= max(max(s.height, s.width) for s in shapes):
        where = " (the layer's own size)" if len(shapes) == 1 else ""
    else:
        where = ", then scaled to the layer"
    size_text = f"{count}{width} × {height} px{where}"
    if rate is None:
        return Estimate(f"{size_text} · measuring how fast {device_label} is here…")
    if not engine_loaded:
        total += ENGINE_LOAD_SECONDS
    text = f"{size_text} · about {format_seconds(total)} on {device_label}"
    if total > LONG_RUN_SECONDS:
        text += (" — a long run: the Fast preset, a smaller working size or Detail ▸ "
                 "Working size is quicker")
    return Estimate(text, long=total > LONG_RUN_SECONDS, seconds=total)
