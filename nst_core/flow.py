"""Optical flow between the input frames of an animation, and where it can be trusted.

Ruder, Dosovitskiy & Brox, *Artistic style transfer for videos* (2016), keep an animation
from flickering by starting each frame from the previous styled frame warped along the
flow between the *input* frames, and by holding the result to that warped frame wherever
the flow is reliable. This module is that part: the flow (OpenCV's DIS, Kroeger et al.
2016, which needs no downloaded weights — the paper uses DeepFlow/EpicFlow), backward
warping, the paper's reliability mask, and the temporal error the benchmark and tests
measure. OpenCV is imported inside the functions, so ``import nst_core`` never needs it.

Flows are H × W × 2 float32 arrays (dx, dy) in pixels, *backward*: for each pixel x of the
later frame, the point x + flow(x) of the earlier frame it came from.
"""
from __future__ import annotations

import numpy as np

from .colors import LUMA

#: DIS presets by name. Measured (``measure_presets``) on real photos panned by (3.4, −2.2) px, on
#: the 2-core development CPU, mean end-point error / time per flow: coffee.png at 192 × 128 px —
#: ultrafast 0.28 px / 0.23 ms, fast 0.13 px / 0.51 ms, medium 0.08 px / 1.5 ms; astronaut.png at
#: 192 × 192 — 0.25 / 0.36 ms, 0.15 / 0.58 ms, 0.07 / 1.9 ms. Even medium costs far less than one
#: optimisation step (~0.1 s at these sizes), so the most accurate one is used.
DIS_PRESETS = ("ultrafast", "fast", "medium")
DIS_PRESET = "medium"

#: Ruder et al.'s thresholds: disoccluded where |w̃ + ŵ|² > A(|w̃|² + |ŵ|²) + B,
#: a motion boundary where |∇û|² + |∇v̂|² > C|ŵ|² + D
OCCLUSION_RELATIVE, OCCLUSION_ABSOLUTE = 0.01, 0.5
BOUNDARY_RELATIVE, BOUNDARY_ABSOLUTE = 0.01, 0.002
#: not in the paper: a pixel whose input colour differs from the warped earlier frame's by more
#: than this (0–1 units, mean over channels) is unreliable too — it catches what the flow got
#: wrong without the consistency check seeing it (flat regions, lighting changes)
PHOTOMETRIC_LIMIT = 0.08
#: keep_still: the square (px) over which zero motion and the estimated flow are compared, and
#: how much better (0–1 units, mean over channels) zero motion must explain the pixels
STILL_WINDOW, STILL_MARGIN = 5, 0.002


def _grey_u8(frame: np.ndarray) -> np.ndarray:
    rgb = np.asarray(frame, dtype=np.float32)[..., :3]
    grey = rgb @ np.asarray(LUMA, dtype=np.float32)
    return np.clip(grey * 255.0 + 0.5, 0, 255).astype(np.uint8)


def flow(later: np.ndarray, earlier: np.ndarray, preset: str = DIS_PRESET) -> np.ndarray:
    """Backward flow from ``later`` to ``earlier`` (H × W × 3 floats in 0–1, same size)."""
    import cv2

    if preset not in DIS_PRESETS:
        raise ValueError(f"unknown DIS preset {preset!r}")
    dis = cv2.DISOpticalFlow_create(getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{preset.upper()}"))
    return dis.calc(_grey_u8(later), _grey_u8(earlier), None).astype(np.float32)


def warp(image: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """``image`` (the earlier frame, H × W × C) moved onto the later frame along ``backward``:
    bicubic, reflecting at the border."""
    import cv2

    height, width = backward.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    source = np.ascontiguousarray(image, dtype=np.float32)
    out = cv2.remap(source, xs + backward[..., 0], ys + backward[..., 1], cv2.INTER_CUBIC,
                    borderMode=cv2.BORDER_REFLECT_101)
    return out.reshape(image.shape)


def reliability(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Ruder et al.'s weights c ∈ {0, 1} on the later frame: 0 where it was disoccluded
    (the forward-backward check fails) or on a motion boundary, 1 elsewhere."""
    carried = warp(forward, backward)  # w̃(x) = w(x + ŵ(x)): the forward flow seen from the later frame
    sum_sq = np.square(carried + backward).sum(axis=-1)
    occluded = sum_sq > OCCLUSION_RELATIVE * (np.square(carried).sum(-1) + np.square(backward).sum(-1)) + OCCLUSION_ABSOLUTE
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    gradient = du_x ** 2 + du_y ** 2 + dv_x ** 2 + dv_y ** 2
    boundary = gradient > BOUNDARY_RELATIVE * np.square(backward).sum(-1) + BOUNDARY_ABSOLUTE
    return (~(occluded | boundary)).astype(np.float32)


def _local_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean |a − b| over channels and a STILL_WINDOW-pixel square around each pixel."""
    import cv2

    difference = np.abs(np.asarray(a, np.float32)[..., :3] - np.asarray(b, np.float32)[..., :3]).mean(axis=-1)
    return cv2.blur(difference, (STILL_WINDOW, STILL_WINDOW), borderType=cv2.BORDER_REFLECT_101)


def keep_still(estimated: np.ndarray, later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """``estimated`` with zero motion wherever zero explains ``later`` from ``earlier`` better.

    Not in the paper: DIS smooths its field across motion boundaries, so a figure moving over a
    still background drags the background's flow with it (0.5 px on average around a 3 px cut-out
    at 64 px), and the previous styled frame warped that way smears where nothing moved. Still
    backgrounds are common in painted animation, so zero motion is tried as a second candidate and
    kept where its photometric error is lower by STILL_MARGIN (not merely equal, as in flat areas).
    """
    still = _local_error(later, earlier) + STILL_MARGIN < _local_error(later, warp(earlier, estimated))
    return np.where(still[..., None], 0.0, estimated).astype(np.float32)


def motion(later: np.ndarray, earlier: np.ndarray, preset: str = DIS_PRESET):
    """(backward flow, reliability weights) of ``later`` against ``earlier``, both input frames."""
    backward = keep_still(flow(later, earlier, preset), later, earlier)
    forward = keep_still(flow(earlier, later, preset), earlier, later)
    weights = reliability(forward, backward)
    mismatch = np.abs(warp(earlier[..., :3], backward) - later[..., :3]).mean(axis=-1)
    return backward, weights * (mismatch <= PHOTOMETRIC_LIMIT)


def temporal_error(current: np.ndarray, previous: np.ndarray, backward: np.ndarray, weights: np.ndarray) -> float:
    """Mean |Oₜ − warp(Oₜ₋₁)| over the reliable pixels (``weights`` > 0), in 0–1 units."""
    difference = np.abs(current[..., :3] - warp(previous[..., :3], backward)).mean(axis=-1)
    keep = weights > 0
    return float(difference[keep].mean()) if keep.any() else 0.0


def measure_presets(photo: np.ndarray, shift=(3.4, -2.2), repeats: int = 5) -> dict:
    """preset -> (end-point error px, seconds per flow) on ``photo`` panned by ``shift`` (dx, dy):
    the figures quoted at ``DIS_PRESETS``."""
    import time

    margin = int(np.ceil(max(abs(s) for s in shift))) + 2
    height, width = photo.shape[0] - 2 * margin, photo.shape[1] - 2 * margin
    true = np.empty((height, width, 2), np.float32)
    true[..., 0], true[..., 1] = -shift[0], -shift[1]
    ys, xs = np.mgrid[margin:margin + height, margin:margin + width].astype(np.float32)
    import cv2

    earlier = photo[margin:margin + height, margin:margin + width].astype(np.float32)
    later = cv2.remap(photo.astype(np.float32), xs - shift[0], ys - shift[1], cv2.INTER_CUBIC)
    found = {}
    for preset in DIS_PRESETS:
        flow(later, earlier, preset)  # warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            estimate = flow(later, earlier, preset)
        seconds = (time.perf_counter() - started) / repeats
        inner = (slice(margin, -margin), slice(margin, -margin))
        error = float(np.linalg.norm(estimate - true, axis=-1)[inner].mean())
        found[preset] = (error, seconds)
    return found
