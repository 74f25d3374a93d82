"""VGG19's layer table, written once (configuration "E" of Simonyan & Zisserman 2014).

Every name, channel count and index the engine uses is derived from :data:`CFG`: conv
names as in the paper (``conv<block>_<n>``), the ReLU after each conv, one pool per block,
and the positions of the convs inside torchvision's ``vgg19().features``.
"""
from __future__ import annotations

from typing import Iterable

from .errors import BadConfig

#: output channels of each 3×3 conv, "M" = 2×2 pooling (ends a block)
CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _derive() -> tuple:
    convs, channels, layers, torchvision_indices = [], {}, [], []
    block, n, torchvision_index = 1, 1, 0
    for entry in CFG:
        if entry == "M":
            layers.append(f"pool{block}")
            block, n, torchvision_index = block + 1, 1, torchvision_index + 1
            continue
        name = f"conv{block}_{n}"
        convs.append(name)
        channels[name] = entry
        layers += [name, f"relu{block}_{n}"]
        torchvision_indices.append(torchvision_index)
        n, torchvision_index = n + 1, torchvision_index + 2  # conv, then its ReLU
    return tuple(convs), channels, tuple(layers), tuple(torchvision_indices)


#: the 16 conv layers in order; out channels of each; every addressable layer in forward order
#: (conv1_1, relu1_1, conv1_2, relu1_2, pool1, …, pool5); the convs' indices in torchvision's features
CONV_NAMES, CONV_CHANNELS, LAYER_NAMES, TORCHVISION_CONV_INDICES = _derive()
LAYER_INDEX = {name: i for i, name in enumerate(LAYER_NAMES)}


def deepest(layers: Iterable[str]) -> str:
    """The layer of ``layers`` furthest into the network: where a truncated network can stop."""
    return max(layers, key=LAYER_INDEX.__getitem__)


def multiplies_per_pixel(last_layer: str) -> float:
    """Multiply-adds per input pixel of the network truncated after ``last_layer`` (3×3 convs;
    each pool quarters the positions after it): what a step's cost is proportional to."""
    total, channels, positions = 0.0, 3, 1.0
    for name in LAYER_NAMES[: LAYER_INDEX[last_layer] + 1]:
        if name.startswith("conv"):
            total += channels * CONV_CHANNELS[name] * 9 * positions
            channels = CONV_CHANNELS[name]
        elif name.startswith("pool"):
            positions /= 4
    return total


def check_layers(layers: Iterable[str]) -> None:
    """Refuse unknown layer names with a message listing the valid ones."""
    unknown = [name for name in layers if name not in LAYER_INDEX]
    if unknown:
        raise BadConfig(
            f"Unknown VGG19 layer(s) {', '.join(unknown)}: use names such as conv4_2, relu4_2 or pool1 "
            f"(all: {', '.join(LAYER_NAMES)})."
        )
