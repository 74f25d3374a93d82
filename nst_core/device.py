"""Choosing where the maths runs.

Front ends mostly say "auto": the fastest device that is really usable, CUDA first, then
Apple's MPS, then the CPU.
"""
from __future__ import annotations

import torch

from .errors import BadConfig

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_device(preference: str = "auto") -> str:
    """Resolve ``preference`` to a torch device string, refusing devices that are absent."""
    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if _mps_available():
            return "mps"
        return "cpu"
    kind = pref.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise BadConfig(f"Unknown device '{preference}': use one of auto, cpu, cuda or mps.")
    if kind == "cuda" and not torch.cuda.is_available():
        raise BadConfig("No CUDA GPU is available here: use --device cpu (or auto).")
    if kind == "mps" and not _mps_available():
        raise BadConfig("Apple MPS is not available here: use --device cpu (or auto).")
    return pref


def device_name(device: str) -> str:
    """What to call ``device`` in a sentence: "CPU", the GPU's own name, "Apple GPU"."""
    kind = str(device).split(":")[0]
    if kind == "cuda":
        try:
            return torch.cuda.get_device_name(torch.device(device).index or 0)
        except Exception:  # a name is a nicety
            return "GPU"
    return {"mps": "Apple GPU"}.get(kind, "CPU")
