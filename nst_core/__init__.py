"""nst_core — neural style transfer (Gatys, Ecker & Bethge 2015) for front ends.

Pure PyTorch, numpy and Pillow: no Qt or Krita here, so the Krita plugin, the CLI and
the benchmark all share one engine. See docs/ENGINE_API.md.
"""
from .config import PRESETS, StyleConfig
from .device import available_device
from .engine import stylize
from .errors import BadConfig, BadImage, Cancelled, NSTError, OutOfMemory, WeightsNotFound
from .result import Progress, StyleResult
from .weights import WeightsInfo, download_torchvision_weights, find_weights as _find_weights


def find_weights(config: "StyleConfig | None" = None) -> WeightsInfo:
    """The weights file a run with ``config`` would use (for diagnostics such as --check)."""
    config = config or StyleConfig()
    return _find_weights(config.weights, config.weights_source)


__all__ = [
    "PRESETS", "StyleConfig", "available_device", "stylize", "find_weights", "download_torchvision_weights",
    "NSTError", "BadConfig", "BadImage", "Cancelled", "OutOfMemory", "WeightsNotFound",
    "Progress", "StyleResult", "WeightsInfo",
]
__version__ = "0.1.0"
