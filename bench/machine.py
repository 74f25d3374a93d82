"""What the machine is and what it could do at best: CPU name and peak, GPU name and peak,
and the multiply-adds of VGG19's convolutions for an image size."""
from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path
from typing import Optional, Sequence

import torch

from nst_core.architecture import CONV_CHANNELS, LAYER_INDEX, LAYER_NAMES

#: Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from the vendors' data sheets.
GPU_BF16_PEAK_TFLOPS = {
    "H200": 989.0, "H100 SXM": 989.0, "H100 80GB HBM3": 989.0, "H100 NVL": 835.0, "H100 PCIe": 756.0,
    "H100": 756.0, "GH200": 989.0, "B200": 2250.0, "A100": 312.0, "A10G": 125.0, "A10": 125.0, "L40S": 362.0,
    "L40": 181.0, "L4": 121.0, "RTX 4090": 165.0, "RTX 4080": 97.0, "RTX 3090": 71.0, "RTX 3080": 59.5,
    "V100": 125.0, "T4": 65.0, "TITAN X (Pascal)": 11.0,
}


def cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    name = match.group(1).strip() if match else platform.machine()
    family = re.search(r"^cpu family\s*:\s*(\d+)$", text, re.M)
    model = re.search(r"^model\s*:\s*(\d+)$", text, re.M)
    if family and model:  # virtual machines often hide the model number in the name
        name += f" (family {family.group(1)}, model {model.group(1)})"
    flags = cpu_flags()
    name += ", " + ("AVX-512" if "avx512f" in flags else "AVX2+FMA" if "avx2" in flags else "no AVX2")
    return name


def cpu_flags() -> set:
    try:
        match = re.search(r"^flags\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        return set(match.group(1).split()) if match else set()
    except OSError:
        return set()


def cpu_mhz() -> Optional[float]:
    try:
        values = [float(v) for v in re.findall(r"^cpu MHz\s*:\s*([\d.]+)$", Path("/proc/cpuinfo").read_text(), re.M)]
        return max(values) if values else None
    except OSError:
        return None


def cpu_peak_gflops(threads: int) -> Optional[tuple]:
    """Nominal fp32 peak: threads × clock × FLOP per cycle (2 FMA pipes × vector width × 2)."""
    mhz = cpu_mhz()
    if mhz is None:
        return None
    flags = cpu_flags()
    lanes = 16 if "avx512f" in flags and "GenuineIntel" in Path("/proc/cpuinfo").read_text() else 8 if "avx2" in flags else 4
    per_cycle = 2 * lanes * 2 if ("fma" in flags or "avx2" in flags) else lanes * 2
    return mhz / 1000.0 * threads * per_cycle, f"{threads} threads × {mhz / 1000:.2f} GHz × {per_cycle} FLOP/cycle"


def measured_sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The best of a few n×n float32 matrix products: what this CPU really sustains."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def gpu_name() -> Optional[str]:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def gpu_peak_tflops(name: Optional[str]) -> Optional[float]:
    if not name:
        return None
    for key in sorted(GPU_BF16_PEAK_TFLOPS, key=len, reverse=True):
        if key.lower() in name.lower():
            return GPU_BF16_PEAK_TFLOPS[key]
    return None


def vgg_macs(height: int, width: int, layers: Sequence[str]) -> int:
    """Multiply-adds of the 3×3 convolutions of VGG19 truncated after the deepest of ``layers``."""
    last = max(LAYER_INDEX[name] for name in layers)
    channels, h, w, macs = 3, height, width, 0
    for name in LAYER_NAMES[: last + 1]:
        if name.startswith("conv"):
            out = CONV_CHANNELS[name]
            macs += h * w * channels * out * 9
            channels = out
        elif name.startswith("pool"):
            h, w = -(-h // 2), -(-w // 2)
    return macs


def step_flops(height: int, width: int, layers: Sequence[str]) -> int:
    """FLOPs of one step's VGG work: forward plus the image gradient (each 2 FLOP per multiply-add)."""
    return 4 * vgg_macs(height, width, layers)


def describe(threads: int) -> dict:
    info = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": threads,
        "peak": cpu_peak_gflops(threads),
        "gpu": gpu_name(),
    }
    info["gpu_peak_tflops"] = gpu_peak_tflops(info["gpu"])
    return info
