"""The paper's normalised VGG19: every conv filter's mean activation over images is 1.

Gatys et al. (2015) "normalized the network by scaling the weights such that the mean
activation of each convolutional filter over images and positions is equal to one". Their
α/β ratios (10⁻³, 10⁻⁴) only mean what the paper shows on that network: on the raw Caffe
weights the deep layers' Gram matrices are thousands of times larger than the shallow
ones', so the same ratio weighs the style completely differently.

Because ReLU(a / m) = ReLU(a) / m for m > 0 and pooling (max or average) commutes with a
positive per-channel scale, dividing filter f of layer l (weights and bias) by its mean
rectified activation m_l[f] and multiplying the next layer's weights on input channel f
by m_l[f] leaves every later pre-activation unchanged. So one forward pass of the
original network measures every m_l at once, and the normalised network's activations
are the original ones divided by m_l.

The factors ship in ``vgg19_caffe_norm.json`` beside this file (made by
``python -m nst_core.normalise``; which images, sizes and positions are recorded in it).
They were measured on the network as trained (max pooling), as in the paper, which then
swaps in average pooling for synthesis. Weights without stored factors (torchvision's
retrained VGG19) get factors measured at run time on the run's own content and style
images — a departure from the paper, noted here because those weights are not the
paper's network anyway.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional

import torch

from .architecture import CONV_NAMES
from .vgg import VGGFeatures, apply  # noqa: F401 (apply: re-exported, the normalised weights)
from .weights import VGGWeights

FACTORS_FILE = Path(__file__).with_name("vgg19_caffe_norm.json")
FORMAT_VERSION = 1
#: long sides (px) at which each calibration image is measured
CALIBRATION_SIDES = (256, 512)

Factors = Dict[str, torch.Tensor]  # conv name -> mean rectified activation per filter


def relu_name(conv: str) -> str:
    return "relu" + conv[len("conv"):]


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def measure(weights: VGGWeights, rgbs: Iterable[torch.Tensor]) -> tuple:
    """(mean rectified activation per filter of every conv layer, positions per layer).

    Each 1×3×H×W image in 0–1 counts by its number of positions ("over images and
    positions"), on the original network with max pooling.
    """
    model = VGGFeatures(weights, relu_name(CONV_NAMES[-1]), pooling="max", pool_rescale=False, first_padding="zeros")
    names = [relu_name(conv) for conv in CONV_NAMES]
    sums = {name: torch.zeros(weights.convs[conv][0].shape[0], dtype=torch.float64) for conv, name in zip(CONV_NAMES, names)}
    positions = dict.fromkeys(names, 0)
    with torch.no_grad():
        for rgb in rgbs:
            feats = model(rgb, names)
            for name in names:
                sums[name] += feats[name].double().sum(dim=(0, 2, 3))
                positions[name] += feats[name].shape[-1] * feats[name].shape[-2]
    means = {conv: (sums[name] / positions[name]).float() for conv, name in zip(CONV_NAMES, names)}
    return means, {conv: positions[relu_name(conv)] for conv in CONV_NAMES}


_STORED: Dict[str, Optional[Factors]] = {}


def stored_factors(weights: VGGWeights) -> Optional[Factors]:
    """The shipped factors if they were measured for exactly this weights file, else None."""
    key = str(weights.info.path)
    if key not in _STORED:
        _STORED[key] = None
        if FACTORS_FILE.is_file():
            data = json.loads(FACTORS_FILE.read_text())
            if data.get("version") == FORMAT_VERSION and data.get("weights_sha256") == file_digest(weights.info.path):
                _STORED[key] = {conv: torch.tensor(data["factors"][conv], dtype=torch.float32) for conv in CONV_NAMES}
    return _STORED[key]


def factors_for(weights: VGGWeights, run_images: Callable[[], Iterable[torch.Tensor]]) -> Factors:
    """Stored factors for these weights, or (other weights) factors measured on ``run_images()``."""
    stored = stored_factors(weights)
    if stored is not None:
        return stored
    return measure(weights, run_images())[0]


def _calibrate(image_paths: list, out: Path) -> None:
    """Measure the factors on ``image_paths`` and write them with their provenance."""
    from . import images
    from .weights import find_weights, load_weights

    info = find_weights(source="caffe")
    weights = load_weights(info)

    def tensors():
        for path in image_paths:
            rgb, _ = images.to_float_image(path, str(path))
            full = images.to_tensor(rgb)
            for side in CALIBRATION_SIDES:
                yield images.resize(full, images.fit_long_side(*full.shape[-2:], side))

    means, positions = measure(weights, tensors())
    data = {
        "version": FORMAT_VERSION,
        "what": "mean rectified activation of each VGG19 conv filter (divide by it to normalise, Gatys et al. 2015)",
        "weights_file": info.path.name,
        "weights_sha256": file_digest(info.path),
        "pooling": "max (the network as trained)",
        "images": [Path(p).name for p in image_paths],
        "long_sides_px": list(CALIBRATION_SIDES),
        "positions_per_layer": positions,
        "factors": {conv: [float(f"{v:.6g}") for v in means[conv].tolist()] for conv in CONV_NAMES},
    }
    out.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m nst_core.normalise",
                                     description="Measure the normalisation factors of the Caffe VGG19.")
    parser.add_argument("images", nargs="+", help="calibration images (natural photos and paintings)")
    parser.add_argument("-o", "--output", default=str(FACTORS_FILE))
    args = parser.parse_args()
    _calibrate(args.images, Path(args.output))
    print(f"wrote {args.output}")
