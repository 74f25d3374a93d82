"""The line both editors show before the click: the size a run finishes at and its time.

Torch-free (front ends import it in the GUI thread and in GIMP's own Python). Each front end
turns its layers or selection into (height, width) and a job's settings; this module plans
them with :mod:`nst_core.schedule`, the same plan the run follows, and words the result the
same way in Krita and GIMP.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from . import schedule
from .schedule import format_seconds

#: a run longer than this is called long, and the line says what is quicker
LONG_RUN_SECONDS = 10 * 60
LONG_RUN_HINT = " — a long run: the Fast preset, a smaller working size or Detail ▸ Working size is quicker"


@dataclass
class Cost:
    """What the plans of one click's runs add up to."""

    size: Tuple[int, int]  #: (height, width) of the largest finished level
    capped: bool  #: some run finishes below its area's size because the free memory is short
    seconds: Optional[float]  #: the runs' time; None while the device's speed is not known yet


def plan(jobs: Sequence[Tuple[Tuple[int, int], object]], finish_size: int, rate, per_run: float = 0.0) -> Cost:
    """Plan each (hw, job settings) of one click; ``finish_size`` is what was asked before any memory cap."""
    seconds, largest, capped = 0.0, None, False
    for hw, job in jobs:
        levels = schedule.levels(hw, job)
        finest = levels[-1].size
        capped = capped or (job.finish_size != finish_size and max(finest) < max(hw))
        if largest is None or finest[0] * finest[1] > largest[0] * largest[1]:
            largest = finest
        if rate is not None:
            seconds += schedule.seconds(levels, rate) + per_run
    return Cost(largest, capped, seconds if rate is not None else None)


def describe(cost: Cost, areas: Sequence[Tuple[int, int]], area: str, device_label: str, overhead: float = 0.0) -> str:
    """"600 × 400 px (the layer's own size) · about 1 min 30 s on the CPU" for ``areas`` ((h, w) each)."""
    height, width = cost.size
    count = f"{len(areas)} layers, up to " if len(areas) > 1 else ""
    side = max(max(hw) for hw in areas)
    if cost.capped:
        where = f", as large as the free memory allows, then scaled to the {area}"
    elif max(cost.size) == side:
        where = f" (the {area}'s own size)" if len(areas) == 1 else ""
    elif max(cost.size) > side:
        where = f", then scaled down to the {area}"  # a small area at a larger working size
    else:
        where = f", then scaled to the {area}"
    text = f"{count}{width} × {height} px{where}"
    if cost.seconds is None:
        return f"{text} · measuring how fast {device_label} is here…"
    total = cost.seconds + overhead
    return f"{text} · about {format_seconds(total)} on {device_label}" + (LONG_RUN_HINT if is_long(total) else "")


def is_long(seconds: Optional[float]) -> bool:
    return seconds is not None and seconds > LONG_RUN_SECONDS
