"""Style the frames of an animation so the brushwork stays put instead of flickering.

Styling each frame on its own lets every stroke crawl from frame to frame. Ruder,
Dosovitskiy & Brox, *Artistic style transfer for videos* (2016), fix that inside the same
optimisation: each frame after the first starts from the previous styled frame warped along
the optical flow between the *input* frames (nst_core/flow.py) and a temporal term holds it
to that warped frame where the flow is reliable, so it needs far fewer steps. Front ends
(CLI, Krita, GIMP) hand frames in one at a time and get styled frames back one at a time:
memory holds the previous frame and its result, never the clip.

Departures from the paper: the first frame is styled exactly as one image (the presets'
coarse-to-fine schedule); later frames run one scale at the working size (plus any finish
levels), as the paper does for every frame, with ``frame_step_ratio`` × ``steps`` steps.
Long-term consistency (frames t−2, t−4) is not done.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np

from . import flow, images, schedule
from .config import StyleConfig, later_frame_config  # noqa: F401 (re-exported: front ends plan later frames)
from .engine import CancelFlag, stylize
from .errors import BadImage
from .result import Progress, StyleResult


@dataclass
class FrameProgress:
    """One report per optimisation step of an animation."""

    frame: int  #: the frame being styled (1-based)
    frames: Optional[int]  #: frames in the clip, None when not known in advance
    step: Progress  #: the frame's own report (its step, scale, losses, time left for the frame)
    elapsed: float  #: seconds since the clip started
    remaining: Optional[float]  #: seconds left for the whole clip (None while estimating or unknown)


def _work(shape: tuple, config: StyleConfig) -> float:
    """A run's work in the units of nst_core.schedule (pixels × steps), to share the time left out."""
    return schedule.seconds(schedule.levels(shape[:2], config), schedule.Rate("any", 1.0, 0.0))


class _ClipClock:
    """Time left for the clip: this frame's, plus the frames still to come at the pace seen so far."""

    def __init__(self, frames: Optional[int], first: StyleConfig, later: StyleConfig):
        self.frames, self.first, self.later = frames, first, later
        self.started = time.perf_counter()
        self.first_seconds: Optional[float] = None
        self.later_seconds: list = []
        self.ratio = 1.0  #: a later frame's work over the first's

    def sized(self, shape: tuple) -> None:
        self.ratio = _work(shape, self.later) / _work(shape, self.first)

    def finished(self, index: int, seconds: float) -> None:
        if index == 1:
            self.first_seconds = seconds
        else:
            self.later_seconds.append(seconds)

    def remaining(self, index: int, report: Progress) -> Optional[float]:
        if self.frames is None or report.remaining is None:
            return None
        if self.later_seconds:
            per_later = sum(self.later_seconds) / len(self.later_seconds)
        elif self.first_seconds is not None:
            per_later = self.first_seconds * self.ratio
        else:  # still on the first frame: its own estimate of its total time
            per_later = (report.elapsed + report.remaining) * self.ratio
        return report.remaining + max(0, self.frames - index) * per_later


def _read_frame(frame: Any, index: int, first_shape: Optional[tuple]) -> tuple:
    """(RGB, the frame as the engine takes it: RGB or RGBA floats), read once."""
    rgb, alpha = images.to_float_image(frame, f"frame {index}")
    if first_shape is not None and rgb.shape != first_shape:
        raise BadImage(f"Frame {index} is {rgb.shape[1]}×{rgb.shape[0]} px but frame 1 is {first_shape[1]}×{first_shape[0]}: "
                       "give frames of one size.")
    return rgb, images.from_float_image(rgb, alpha)


def stylize_frames(
    frames: Iterable[Any],
    style: Any,
    config: Optional[StyleConfig] = None,
    progress: Optional[Callable[[FrameProgress], None]] = None,
    cancel: CancelFlag = None,
    independent: bool = False,
    *,
    count: Optional[int] = None,
    masks: Any = None,
    style_masks: Any = None,
) -> Iterator[StyleResult]:
    """Yield each frame of ``frames`` re-painted in the style of ``style``, in order.

    ``frames``: images of one size (arrays, PIL images or paths; a list or any iterator);
    ``count``: how many there are, when ``frames`` has no length (for the time left).
    Coherent by default (``independent`` = True styles every frame alone, for comparison);
    the same presets, regions, colour preservation and finish size as ``stylize``. Raises
    :class:`Cancelled` within one step of ``cancel`` saying so, and a plain one-line
    :class:`NSTError` for frames of different sizes or an unreadable frame.
    """
    config = config or StyleConfig()
    config.validate()
    later = later_frame_config(config)
    clock = _ClipClock(count if count is not None else (len(frames) if hasattr(frames, "__len__") else None), config, later)
    previous_input: Optional[np.ndarray] = None
    previous_output: Optional[np.ndarray] = None
    for index, frame in enumerate(frames, start=1):
        rgb, frame = _read_frame(frame, index, None if previous_input is None else previous_input.shape)
        if index == 1:
            clock.sized(rgb.shape)

        def report(p: Progress, index: int = index) -> None:
            if progress is not None:
                progress(FrameProgress(index, clock.frames, p, time.perf_counter() - clock.started,
                                       clock.remaining(index, p)))

        started = time.perf_counter()
        if previous_output is None or independent:
            result = stylize(frame, style, config, report, cancel, masks=masks, style_masks=style_masks)
        else:
            backward, weights = flow.motion(rgb, previous_input)
            if previous_output.shape[:2] != rgb.shape[:2]:  # a run that ends at the working size
                previous_output = images.resize_array(previous_output, rgb.shape[:2])
            warped = np.clip(flow.warp(previous_output, backward), 0, 1)
            result = stylize(frame, style, later, report, cancel, masks=masks, style_masks=style_masks,
                             start=warped, temporal=(warped, weights))
        clock.finished(index, time.perf_counter() - started)
        previous_input, previous_output = rgb, result.image[..., :3]
        yield result
