"""nst_core — neural style transfer (Gatys, Ecker & Bethge 2015) for front ends.

Pure PyTorch, numpy and Pillow: no Qt or Krita here, so the Krita plugin, the CLI and
the benchmark all share one engine. See docs/ENGINE_API.md.

Importing the package is cheap: torch is loaded on first use of a name that needs it
(``stylize``, ``StyleConfig``, …). So the CLI can check its arguments and files before
spending seconds on torch (and turn Ctrl-C during that load into one line), and a front
end's GUI thread can use :mod:`nst_core.limits` without loading torch.
"""
from __future__ import annotations

import importlib

from .errors import BadConfig, BadImage, Cancelled, NSTError, OutOfMemory, WeightsNotFound

_LAZY = {
    "PRESETS": ".config", "StyleConfig": ".config",
    "available_device": ".device", "device_name": ".device",
    "stylize": ".engine", "calibrate": ".engine", "stylize_frames": ".animation",
    "Progress": ".result", "StyleResult": ".result",
    "WeightsInfo": ".weights", "download_torchvision_weights": ".weights",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nst_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def find_weights(config: "StyleConfig | None" = None) -> "WeightsInfo":  # noqa: F821 (lazy names)
    """The weights file a run with ``config`` would use (for diagnostics such as --check)."""
    from .config import StyleConfig
    from .weights import find_weights as _find_weights

    config = config or StyleConfig()
    return _find_weights(config.weights, config.weights_source)


__all__ = [
    "PRESETS", "StyleConfig", "available_device", "device_name", "stylize", "calibrate", "stylize_frames", "find_weights", "download_torchvision_weights",
    "NSTError", "BadConfig", "BadImage", "Cancelled", "OutOfMemory", "WeightsNotFound",
    "Progress", "StyleResult", "WeightsInfo",
]
__version__ = "0.1.0"
