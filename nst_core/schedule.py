"""The plan of a run, known before it starts: the sizes it optimises at, the steps at each,
the tiles each is cut into, and what that costs.

One place for the coarse-to-fine schedule, so that what the engine runs, what the memory
check budgets for, what a front end's dialog says it will cost and how far a progress bar
has come are all the same arithmetic. Imports neither torch nor numpy: a front end's GUI
thread may call it.

Coarse-to-fine (crowsonkb's style-transfer-pytorch; not in the paper, which runs one
scale): the levels are √2 apart up to the working size, and with ``finish_size`` they
continue √2 apart above it up to that long side — a layer's own size — so the result is
sharp at 100 % instead of upscaled. Every level gets ``step_ratio`` times the steps of the
one below it, so the time goes to the cheap coarse levels and the finest ones only refine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from .architecture import deepest, multiplies_per_pixel

#: VGG19 halves the size at each of its pools; tiles start on this grid so pooling lines up.
ALIGN = 16
#: a finish is worth levels of its own only where it is this much larger than the working size
#: (a 5 % larger final level would cost a whole level for nothing)
FINISH_MIN_GAIN = 1.05
#: the last √2 level before the finish is left out when the finish is within this factor of it:
#: the finest level costs most, and one jump of up to ~1.8× to it refines as well as two
FINISH_LAST_GAIN = 1.25
#: a step's cost per pixel that does not grow with the network's depth, in multiply-adds (the
#: first layers' memory traffic, the optimiser's image-sized vectors, the palette's sort): fitted so
#: that a refining step (network to relu2_1) costs the 0.28 of a working one measured on the CPU
STEP_OVERHEAD = 6e4
#: per level, computing the content and style targets costs about one step
TARGET_STEPS = 1


def _floor_align(value: float) -> int:
    return int(value) // ALIGN * ALIGN


def fit_long_side(height: int, width: int, long_side: int) -> Tuple[int, int]:
    """(h, w) scaled so the longer side is ``long_side``, keeping the aspect ratio."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def spans(length: int, tile: int, overlap: int) -> List[Tuple[int, int]]:
    """Windows covering [0, length): as few as fit in ``tile`` px with ≥ ``overlap`` − 15 px overlap.

    The windows are made as small as that count allows (so a length just over ``tile``
    gets two windows of about half of it, not two full ones), start on the 16-px grid, and
    the last one ends at ``length`` (up to 15 px longer than the others). One window if
    the length fits in ``tile``.
    """
    tile = max(2 * ALIGN, _floor_align(tile))
    if length <= tile:
        return [(0, length)]
    overlap = min(max(int(overlap), ALIGN), tile // 2)
    count = max(2, math.ceil((length - overlap) / (tile - overlap)))
    size = min(tile, -(-math.ceil((length + (count - 1) * overlap) / count) // ALIGN) * ALIGN)
    stride = (length - size) / (count - 1)
    starts = [_floor_align(i * stride) for i in range(count - 1)] + [_floor_align(length - size)]
    result = [(start, min(length, start + size)) for start in starts[:-1]] + [(starts[-1], length)]
    for (a0, a1), (b0, b1) in zip(result, result[1:]):
        assert a0 <= b0 < a1 <= b1, (result, length, tile, overlap)
    return result


def needs_tiling(size: Tuple[int, int], tile_size: int) -> bool:
    """Whether an image of ``size`` (h, w) is processed in tiles of ``tile_size`` (0 = never)."""
    return bool(tile_size) and max(size) > max(2 * ALIGN, _floor_align(int(tile_size)))


@dataclass(frozen=True)
class Level:
    """One scale of the run."""

    size: Tuple[int, int]  #: (height, width) optimised at this level
    steps: int
    tiles: int  #: 1 when the level fits through the network in one piece
    work: int  #: pixels the network sees per step (tiles overlap, so ≥ h × w)
    refine: bool = False  #: above the working size, on the way to the finish size
    cost: float = 1.0  #: a step's cost per pixel against a working level's (a refining one stops the network early)


def _long_sides(content_long: int, config) -> Tuple[List[int], int]:
    """Long side of every level, coarsest first, and how many of them are the working pyramid."""
    long_side = int(config.size) if config.size else content_long
    scales, min_size = int(config.scales), int(config.min_scale_size)
    sides = []
    for level in range(scales - 1, -1, -1):
        side = round(long_side / math.sqrt(2) ** level)
        if side >= min(min_size, long_side):
            sides.append(side)
    working = len(sides)
    finish = min(int(config.finish_size or 0), content_long)
    if finish > long_side * FINISH_MIN_GAIN:
        # not in the paper: coarse-to-fine goes on above the working size up to the finish size,
        # √2 apart, the last level exactly there
        side = long_side * math.sqrt(2)
        while side * FINISH_LAST_GAIN < finish:
            sides.append(round(side))
            side *= math.sqrt(2)
        sides.append(finish)
    return sides, working


def levels(content_hw: Tuple[int, int], config) -> List[Level]:
    """The levels a run of ``config`` on a ``content_hw`` (h, w) image goes through, coarsest first."""
    height, width = int(content_hw[0]), int(content_hw[1])
    found = []
    sides, working = _long_sides(max(height, width), config)
    refine_cost = _network_cost(config.refining()) / _network_cost(config) if len(sides) > working else 1.0
    for index, side in enumerate(sides):
        size = fit_long_side(height, width, side)
        steps = max(1, round(int(config.steps) * float(config.step_ratio) ** index))
        if needs_tiling(size, int(config.tile_size)):
            rows = spans(size[0], int(config.tile_size), int(config.tile_overlap))
            cols = spans(size[1], int(config.tile_size), int(config.tile_overlap))
            tiles, work = len(rows) * len(cols), sum(b - a for a, b in rows) * sum(b - a for a, b in cols)
        else:
            tiles, work = 1, size[0] * size[1]
        refine = index >= working
        found.append(Level(size, steps, tiles, work, refine, refine_cost if refine else 1.0))
    return found


def _network_cost(config) -> float:
    return multiplies_per_pixel(deepest([*config.content_layers, *config.style_layers])) + STEP_OVERHEAD


def finest_long_side(content_hw: Tuple[int, int], config) -> int:
    """The long side of the last level: what the run's memory and detail are decided by."""
    return max(levels(content_hw, config)[-1].size)


def total_steps(plan: Sequence[Level]) -> int:
    return sum(level.steps for level in plan)


@dataclass(frozen=True)
class Rate:
    """How fast a device runs one optimisation step: ``per_tile`` s + ``per_pixel`` s × pixels.

    Measured by ``nst_core.calibrate`` on the machine itself (a few seconds), kept by front ends.
    """

    device: str
    per_pixel: float
    per_tile: float = 0.0

    def step_seconds(self, level: Level) -> float:
        return level.tiles * self.per_tile + level.work * level.cost * self.per_pixel


def _level_cost(level: Level, rate: Rate) -> float:
    return (level.steps + TARGET_STEPS) * rate.step_seconds(level)


def seconds(plan: Sequence[Level], rate: Rate) -> float:
    """The time the run will take on the device ``rate`` was measured on."""
    return sum(_level_cost(level, rate) for level in plan)


def done_fraction(plan: Sequence[Level], step: int) -> float:
    """How much of the run's work is done after ``step`` steps (0–1), coarse steps counting little."""
    costs = [(level.steps, level.work * level.cost) for level in plan]
    total = sum((steps + TARGET_STEPS) * work for steps, work in costs)
    done, left = 0.0, int(step)
    for steps, work in costs:
        if left <= 0:
            break
        taken = min(steps, left)
        done += (taken + TARGET_STEPS) * work
        left -= taken
    return min(1.0, done / total) if total else 1.0


def remaining_seconds(plan: Sequence[Level], step: int, elapsed: float):
    """Seconds left after ``step`` steps in ``elapsed`` s, from the work done so far (None at step 0)."""
    fraction = done_fraction(plan, step)
    if step <= 0 or fraction <= 0:
        return None
    return max(0.0, elapsed * (1.0 - fraction) / fraction)


NBSP = "\u00a0"  #: keeps "1 min 05 s" on one line


def format_seconds(seconds) -> str:
    """"45 s", "1 min 05 s", "12 min", "2 h 05 min" (no breaks inside); "estimating…" for None."""
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    if seconds < 60:
        text = f"{max(1, seconds)} s"
    elif seconds < 600:
        text = "{} min {:02d} s".format(*divmod(seconds, 60))
    elif seconds < 3600:
        text = f"{round(seconds / 60)} min"
    else:
        text = "{} h {:02d} min".format(*divmod(seconds // 60, 60))
    return text.replace(" ", NBSP)
