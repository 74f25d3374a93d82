"""Measure, then choose: the fastest correct way to run the network on this machine.

Which convolution path and precision is fastest depends on the CPU, not on the code: NNPACK's
Winograd convolutions were 1.3× faster than torch's direct ones on one Xeon and 1.1–1.3× slower
on an AMD Zen 4; bf16 autocast halves a step on CPUs with native bf16 (AVX-512 BF16, AMX) and is
many times slower where bf16 is emulated. So nothing is assumed: a few forward + backward passes
of the real network, one per candidate path in turn, are timed once per machine (CPU model, torch
build, thread count) and the choice is remembered in a small JSON file (``NST_SPEED_CACHE``, else
``~/.cache/nst_core/speed.json``). bf16 is only a candidate where the CPU has native bf16 and
keeps Gram matrices and losses in float32 (nst_core/losses.py); that its judged quality holds is
measured by ``python -m bench --paths`` (BENCHMARKS.md).

A configuration says ``precision="auto"`` and/or ``fast_conv=None`` to leave the choice here;
pinned values are kept, and only the paths agreeing with them compete.
"""
from __future__ import annotations

import json
import os
import platform
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Optional

import torch

#: candidate path -> (fast_conv, precision); the first is the safe fallback
PATHS = {"direct": (False, "fp32"), "winograd": (True, "fp32"), "bf16": (False, "bf16")}
#: the timed image (H, W): big enough that a pass is dominated by the convolutions
PROBE_SIZE = (192, 256)
#: timed passes per path, after one untimed warm-up pass each; the fastest pass counts
PROBE_ROUNDS = 3

_CHOSEN: dict = {}  #: this process's measurements, by machine key


def autocast(precision: str, device_type: str):
    """bf16 autocast for the convolutions (Grams and losses stay float32), or nothing."""
    if precision == "bf16" and device_type in ("cuda", "cpu"):
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return nullcontext()


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (oneDNN's own check: AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def candidates() -> list:
    """The CPU paths worth timing here."""
    from .vgg import winograd_available

    return [name for name in PATHS
            if name == "direct" or (name == "winograd" and winograd_available()) or (name == "bf16" and native_bf16())]


def machine_key() -> str:
    """What a measurement is valid for: the CPU, the torch build and the thread count."""
    capability = torch.backends.cpu.get_cpu_capability()  # e.g. AVX512: the model name alone can be vague
    return (f"{_cpu_model()}|{capability}{' bf16' if native_bf16() else ''}|torch {torch.__version__}"
            f"|{torch.get_num_threads()} threads")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_path() -> Path:
    if os.environ.get("NST_SPEED_CACHE"):
        return Path(os.environ["NST_SPEED_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nst_core" / "speed.json"


def timings() -> dict:
    """Seconds per forward + backward pass of each candidate path: remembered, or measured now."""
    key = machine_key()
    if key not in _CHOSEN:
        _CHOSEN[key] = _remembered(key) or _remember(key, measure())
    return _CHOSEN[key]


def _remembered(key: str) -> Optional[dict]:
    try:
        found = json.loads(cache_path().read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(found, dict) and found and set(found) <= set(PATHS) and all(
            isinstance(v, (int, float)) and v > 0 for v in found.values()):
        return found
    return None  # damaged or from another version: measure again


def _remember(key: str, measured: dict) -> dict:
    path = cache_path()
    try:
        known = json.loads(path.read_text()) if path.is_file() else {}
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    known[key] = measured
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(known, indent=1))
        partial.replace(path)
    except OSError:
        pass  # a read-only home: measured again next process, never an error
    return measured


def measure() -> dict:
    """Time each candidate path on the default preset's network (a few seconds in all)."""
    from .config import StyleConfig
    from .vgg import VGGFeatures, deepest
    from .weights import find_weights, load_weights

    config = StyleConfig()
    layers = list(config.content_layers) + list(config.style_layers)
    weights = load_weights(find_weights(config.weights, config.weights_source))
    image = torch.rand(1, 3, *PROBE_SIZE, generator=torch.Generator().manual_seed(0))
    runs = {}
    for name in candidates():
        fast_conv, precision = PATHS[name]
        model = VGGFeatures(weights, deepest(layers), config.pooling, False, config.first_padding, fast_conv)
        runs[name] = (model, precision)
        _pass(model, precision, image, layers)  # warm-up: allocations, oneDNN's kernel choice
    best = {name: float("inf") for name in runs}
    for _ in range(PROBE_ROUNDS):  # round-robin, so a busy moment does not count against one path only
        for name, (model, precision) in runs.items():
            started = time.perf_counter()
            _pass(model, precision, image, layers)
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def _pass(model, precision: str, image: torch.Tensor, layers: list) -> None:
    x = image.clone().requires_grad_(True)
    with autocast(precision, "cpu"):
        feats = model(x, layers)
    sum(f.float().square().mean() for f in feats.values()).backward()


def resolve(config, device: str):
    """``config`` with ``precision`` and ``fast_conv`` made concrete for ``device``."""
    if config.precision != "auto" and config.fast_conv is not None:
        return config
    kind = str(device).split(":")[0]
    if kind == "cuda":
        fast_conv, precision = False, "bf16"  # bf16 convolutions, float32 Grams (BENCHMARKS.md, CUDA)
    elif kind == "cpu":
        fast_conv, precision = PATHS[choose(config.precision, config.fast_conv)]
    else:
        fast_conv, precision = False, "fp32"  # MPS: no bf16 autocast worth having, no NNPACK
    return replace(config,
                   precision=precision if config.precision == "auto" else config.precision,
                   fast_conv=fast_conv if config.fast_conv is None else config.fast_conv)


def choose(precision: str = "auto", fast_conv: Optional[bool] = None) -> str:
    """The fastest measured CPU path that agrees with what is pinned."""
    agreeing = {name: seconds for name, seconds in timings().items()
                if (precision == "auto" or PATHS[name][1] == precision)
                and (fast_conv is None or PATHS[name][0] == fast_conv)}
    return min(agreeing, key=agreeing.get) if agreeing else _pinned(precision, fast_conv)


def _pinned(precision: str, fast_conv: Optional[bool]) -> str:
    """A path measured nowhere yet agreeing with the pins (e.g. bf16 asked on a CPU without it)."""
    for name, (path_fast, path_precision) in PATHS.items():
        if (precision in ("auto", path_precision)) and fast_conv in (None, path_fast):
            return name
    return "direct"
