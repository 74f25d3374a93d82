"""VGG19 as a feature extractor with the paper's layer names.

Only the 16 conv and 5 pool layers exist (no classifier). The network is built only up
to the deepest layer a run asks for, because every layer past it is wasted work on every
optimisation step.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn

from .errors import BadConfig
from .weights import CONV_NAMES, VGGWeights


def _layer_names() -> tuple:
    names = []
    for conv in CONV_NAMES:
        block, index = conv[4], conv[6]
        names += [conv, f"relu{block}_{index}"]
        if conv in ("conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4"):
            names.append(f"pool{block}")
    return tuple(names)


#: Every addressable layer, in forward order: conv1_1, relu1_1, conv1_2, ..., pool5.
LAYER_NAMES = _layer_names()
LAYER_INDEX = {name: i for i, name in enumerate(LAYER_NAMES)}

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

#: Average pooling of ReLU outputs is about half their max pooling; crowsonkb's
#: style-transfer-pytorch multiplies by 2 so deeper layers keep their usual scale.
AVG_POOL_RESCALE = 2.0


def check_layers(layers: Iterable[str]) -> None:
    """Refuse unknown layer names with a message listing the valid ones."""
    unknown = [name for name in layers if name not in LAYER_INDEX]
    if unknown:
        raise BadConfig(
            f"Unknown VGG19 layer(s) {', '.join(unknown)}: use names such as conv4_2, relu4_2 or pool1 "
            f"(all: {', '.join(LAYER_NAMES)})."
        )


class Preprocess(nn.Module):
    """Turns RGB in 0–1 into the encoding the weights were trained on."""

    def __init__(self, source: str):
        super().__init__()
        if source == "caffe":
            order = [2, 1, 0]
            scale = torch.full((3,), 255.0)
            shift = torch.tensor(_CAFFE_MEAN_BGR)
        else:
            order = [0, 1, 2]
            scale = 1.0 / torch.tensor(_IMAGENET_STD)
            shift = torch.tensor(_IMAGENET_MEAN) / torch.tensor(_IMAGENET_STD)
        self.register_buffer("order", torch.tensor(order), persistent=False)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb.index_select(1, self.order) * self.scale - self.shift


class Scale(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class VGGFeatures(nn.Module):
    """Frozen, eval-mode VGG19 trunk that returns the named activations asked for."""

    def __init__(
        self,
        weights: VGGWeights,
        last_layer: str = "pool5",
        pooling: str = "avg",
        pool_rescale: bool = False,
        first_padding: str = "zeros",
    ):
        super().__init__()
        check_layers([last_layer])
        if pooling not in ("avg", "max"):
            raise BadConfig(f"Unknown pooling '{pooling}': use avg or max.")
        if first_padding not in ("zeros", "replicate"):
            raise BadConfig(f"Unknown padding '{first_padding}': use zeros or replicate.")
        self.preprocess = Preprocess(weights.source)
        self.names: list = []
        layers = []
        for name in LAYER_NAMES[: LAYER_INDEX[last_layer] + 1]:
            if name.startswith("conv"):
                weight, bias = weights.convs[name]
                padding_mode = first_padding if name == "conv1_1" else "zeros"
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1, padding_mode=padding_mode)
                with torch.no_grad():
                    conv.weight.copy_(weight)
                    conv.bias.copy_(bias)
                layer: nn.Module = conv
            elif name.startswith("relu"):
                layer = nn.ReLU()
            elif pooling == "max":
                layer = nn.MaxPool2d(2, ceil_mode=True)
            else:
                pool = nn.AvgPool2d(2, ceil_mode=True)
                layer = nn.Sequential(pool, Scale(AVG_POOL_RESCALE)) if pool_rescale else pool
            layers.append(layer)
            self.names.append(name)
        self.layers = nn.ModuleList(layers)
        self.requires_grad_(False)
        self.eval()

    def forward(self, rgb: torch.Tensor, wanted: Sequence[str]) -> dict:
        wanted_set = set(wanted)
        missing = wanted_set - set(self.names)
        if missing:
            raise BadConfig(f"Layer(s) {', '.join(sorted(missing))} lie beyond this truncated network.")
        last = max(LAYER_INDEX[name] for name in wanted_set)
        out = {}
        x = self.preprocess(rgb)
        for name, layer in zip(self.names[: last + 1], self.layers):
            x = layer(x)
            if name in wanted_set:
                out[name] = x
        return out


_MODELS: dict = {}


def build_features(
    weights: VGGWeights,
    layers: Iterable[str],
    device: str,
    pooling: str = "avg",
    pool_rescale: bool = False,
    first_padding: str = "zeros",
    channels_last: bool = False,
) -> VGGFeatures:
    """A network truncated after the deepest of ``layers``, cached so repeated runs reuse it."""
    layers = list(layers)
    check_layers(layers)
    last = max(layers, key=LAYER_INDEX.__getitem__)
    key = (id(weights), last, pooling, pool_rescale, first_padding, device, channels_last)
    model = _MODELS.get(key)
    if model is None:
        model = VGGFeatures(weights, last, pooling, pool_rescale, first_padding).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        _MODELS.clear()  # keep one network warm, not one per setting ever used
        _MODELS[key] = model
    return model
