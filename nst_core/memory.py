"""How much memory a run will take, checked before it starts.

A run that does not fit is refused in one sentence that names the largest working size
that does fit, instead of swapping for minutes or inviting the out-of-memory killer to
take the painter's Krita (with unsaved work) along with it.

The estimate (peak bytes) is a model measured on the CPU path (``python -m nst_core``,
fp32, Winograd convolutions): an untiled optimisation step costs about
:data:`STEP_BYTES_PER_PIXEL` per working pixel (VGG19's activations kept for the image
gradient, the convolution workspaces, the L-BFGS history); a tiled scale costs that for
one tile plus :data:`TILED_BYTES_PER_PIXEL` per pixel of the whole image (the image, its
gradient, the shorter L-BFGS history, the content targets). Style targets are computed
without gradients (a fraction of a step), the input images are held as float32.

``NST_MEMORY_LIMIT_MB`` (environment) caps the memory a run may plan to use, e.g. to keep
room for other programs; otherwise it is the memory the system reports as available
(``MemAvailable`` on Linux, the free GPU memory on CUDA).
"""
from __future__ import annotations

import math
import os
import sys
from typing import Iterable, Optional, Sequence, Tuple

from .errors import OutOfMemory
from .schedule import finest_long_side, fit_long_side, levels, needs_tiling

STEP_BYTES_PER_PIXEL = {"cpu": 4000, "cuda": 2600, "mps": 4000}
TILED_BYTES_PER_PIXEL = 700
#: style targets: a forward pass without gradients, per style pixel at its working size
STYLE_BYTES_PER_PIXEL = 1200
#: input images as float32 RGB (numpy copy and tensor copy)
INPUT_BYTES_PER_PIXEL = 32
#: the network's weights (and their Winograd copies) and torch's own working set
FIXED_BYTES = 400 * 2**20
#: plan to use at most this share of the memory that is free
USABLE_SHARE = 0.8


def _tile_side(tile_size: int) -> int:
    return max(32, int(tile_size) // 16 * 16) + 15


def estimate(content_hw: Tuple[int, int], style_hws: Iterable[Tuple[int, int]], long_side: int, device: str = "cpu",
             tile_size: int = 1024, style_scale: float = 1.0, precision: str = "fp32") -> int:
    """Peak bytes of a run whose finest scale has ``long_side`` px (coarser scales cost less)."""
    kind = str(device).split(":")[0]
    per_pixel = STEP_BYTES_PER_PIXEL.get(kind, STEP_BYTES_PER_PIXEL["cpu"])
    if kind == "cuda" and precision in ("bf16", "auto"):  # "auto" is bf16 on CUDA (nst_core/speed.py)
        per_pixel = int(per_pixel * 0.7)
    height, width = fit_long_side(int(content_hw[0]), int(content_hw[1]), int(long_side))
    pixels = height * width
    if needs_tiling((height, width), int(tile_size)):
        tile = _tile_side(tile_size)
        step = min(pixels, tile * tile) * per_pixel + pixels * TILED_BYTES_PER_PIXEL
    else:
        step = pixels * per_pixel
    inputs = int(content_hw[0]) * int(content_hw[1]) * INPUT_BYTES_PER_PIXEL + pixels * INPUT_BYTES_PER_PIXEL
    style_peak = 0
    for style_hw in style_hws:
        inputs += int(style_hw[0]) * int(style_hw[1]) * INPUT_BYTES_PER_PIXEL
        s_h, s_w = fit_long_side(int(style_hw[0]), int(style_hw[1]), max(16, round(long_side * style_scale)))
        s_pixels = s_h * s_w
        if needs_tiling((s_h, s_w), int(tile_size)):
            s_pixels = _tile_side(tile_size) ** 2
        style_peak = max(style_peak, s_pixels * STYLE_BYTES_PER_PIXEL)
    return FIXED_BYTES + inputs + max(step, style_peak)


def _meminfo_available() -> Optional[int]:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _windows_available() -> Optional[int]:
    try:
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total", ctypes.c_ulonglong),
                        ("avail", ctypes.c_ulonglong), ("total_page", ctypes.c_ulonglong),
                        ("avail_page", ctypes.c_ulonglong), ("total_virtual", ctypes.c_ulonglong),
                        ("avail_virtual", ctypes.c_ulonglong), ("avail_ext", ctypes.c_ulonglong)]

        status = _Status()
        status.length = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.avail)
    except Exception:
        return None
    return None


def available(device: str = "cpu") -> Optional[int]:
    """Bytes a run on ``device`` may use now (None when it cannot be told)."""
    kind = str(device).split(":")[0]
    found: Optional[int] = None
    if kind == "cuda":
        try:
            import torch

            index = torch.device(device).index
            index = torch.cuda.current_device() if index is None else index
            free, _total = torch.cuda.mem_get_info(index)
            found = int(free + torch.cuda.memory_reserved(index) - torch.cuda.memory_allocated(index))
        except Exception:
            found = None
    elif kind == "cpu":
        found = _meminfo_available() if sys.platform.startswith("linux") else (
            _windows_available() if sys.platform == "win32" else None)
    limit = os.environ.get("NST_MEMORY_LIMIT_MB", "").strip()
    if limit:
        try:
            capped = int(float(limit) * 2**20)
            found = capped if found is None else min(found, capped)
        except ValueError:
            pass
    return found


def _gigabytes(value: int) -> str:
    gb = value / 2**30
    return f"{gb:.1f} GB" if gb < 10 else f"{gb:.0f} GB"


def largest_fitting(content_hw, style_hws: Sequence, budget: int, device: str, tile_size: int,
                    style_scale: float, precision: str, upper: int) -> int:
    """The largest long side (a multiple of 16, at least 16) whose estimate fits ``budget`` (0 if none)."""
    low, high = 0, max(1, int(upper) // 16)
    while low < high:
        middle = (low + high + 1) // 2
        if estimate(content_hw, style_hws, middle * 16, device, tile_size, style_scale, precision) <= budget:
            low = middle
        else:
            high = middle - 1
    return low * 16


def _estimate_args(config) -> tuple:
    """What :func:`estimate` needs of ``config`` besides the sizes and the device."""
    return int(config.tile_size), float(config.style_scale), str(config.precision)


def largest_finish(content_hw: Tuple[int, int], style_hws: Sequence, config, device: str) -> int:
    """``config.finish_size``, lowered to the largest finest level that fits in the free memory.

    For front ends that finish at a layer's own size: a layer too big for this machine is
    then finished as large as memory allows and scaled the rest of the way, instead of
    refused. Unchanged when it fits or when the free memory cannot be told; never below
    the working size (whose own check is :func:`check`'s).
    """
    finish = int(config.finish_size or 0)
    free = available(device)
    if not finish or free is None:
        return finish
    finest = finest_long_side(content_hw, config)
    args = _estimate_args(config)
    if estimate(content_hw, style_hws, finest, device, *args) <= free * USABLE_SHARE:
        return finish
    fits = largest_fitting(content_hw, style_hws, int(free * USABLE_SHARE), device, *args, upper=finest)
    working = int(config.size) if config.size else finest
    return max(fits, min(working, finest), 16)


def check(content_hw: Tuple[int, int], style_hws: Sequence, config, device: str) -> None:
    """Raise :class:`OutOfMemory` before the run if ``config``'s finest level cannot fit on ``device``."""
    finest = levels(content_hw, config)[-1]
    long_side = max(finest.size)
    what, setting = ("Finishing at", "finish size") if finest.refine else ("A working size of", "working size")
    free = available(device)
    if free is None:
        return
    budget = int(free * USABLE_SHARE)
    args = _estimate_args(config)
    need = estimate(content_hw, style_hws, long_side, device, *args)
    if need <= budget:
        return
    where = "on the CPU" if str(device).startswith("cpu") else f"on the {str(device).split(':')[0].upper()}"
    fits = largest_fitting(content_hw, style_hws, budget, device, *args, upper=long_side)
    other = " or run on the CPU" if not str(device).startswith("cpu") else " or close other programs"
    if fits < 64:
        raise OutOfMemory(f"{what} {long_side} px needs about {_gigabytes(need)} of memory but only "
                          f"{_gigabytes(free)} is free {where}: close other programs"
                          + (" or run on the CPU." if other.startswith(" or run") else "."), str(device))
    raise OutOfMemory(f"{what} {long_side} px needs about {_gigabytes(need)} of memory but only "
                      f"{_gigabytes(free)} is free {where}: choose a {setting} of {fits} px or less{other}.",
                      str(device))


def human(value: int) -> str:
    """Bytes as a short human string (for messages and benchmarks)."""
    return _gigabytes(value) if value >= 2**30 else f"{math.ceil(value / 2**20)} MB"
