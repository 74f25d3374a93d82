"""VGG19 as a feature extractor with the paper's layer names.

Only the 16 conv and 5 pool layers exist (no classifier). The network is built only up
to the deepest layer a run asks for, because every layer past it is wasted work on every
optimisation step.

On the CPU the 3×3 convolutions can run as Winograd transforms (NNPACK, shipped inside
PyTorch's x86-64 and ARM builds): the same convolution with about 2–3× fewer
multiplications, for the forward pass and for the image gradient alike (the gradient of a
3×3 convolution is a 3×3 convolution with the kernel flipped and transposed). This is
what makes a CPU step faster than a direct convolution can be (see BENCHMARKS.md). Each
convolution agrees with the direct one to about 1e-5 relative; through the whole network
the features agree to about 1e-4 and the image gradient to about 1e-3.
"""
from __future__ import annotations

import functools
import os

# NNPACK runs on its own thread pool. libgomp's OpenMP workers (used by PyTorch's other CPU
# ops) by default keep spinning for a while after each parallel region and take the cores
# away from it: measured 15-20 % slower steps on two cores. Ask them to sleep instead. This
# only takes effect if nst_core is what first imports torch (as in the Krita plugin and the
# CLI); set OMP_WAIT_POLICY yourself to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from typing import Iterable, Optional, Sequence  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from .errors import BadConfig  # noqa: E402
from .architecture import CONV_NAMES, LAYER_INDEX, LAYER_NAMES, check_layers, deepest  # noqa: E402,F401 (check_layers: re-exported)
from .weights import VGGWeights  # noqa: E402

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

#: Average pooling of ReLU outputs is about half their max pooling; crowsonkb's
#: style-transfer-pytorch multiplies by 2 so deeper layers keep their usual scale.
AVG_POOL_RESCALE = 2.0


def apply(weights: VGGWeights, factors: dict) -> dict:
    """Conv weights of the paper's normalised network (``factors``: nst_core/normalise.py):
    W'[o, i] = W[o, i] · m_prev[i] / m[o], b' = b / m."""
    convs = {}
    previous = None
    for conv in CONV_NAMES:
        weight, bias = weights.convs[conv]
        mean = _safe(factors[conv])
        scaled = weight / mean.view(-1, 1, 1, 1)
        if previous is not None:
            scaled = scaled * previous.view(1, -1, 1, 1)
        convs[conv] = (scaled, bias / mean)
        previous = mean
    return convs


def _safe(mean: torch.Tensor) -> torch.Tensor:
    """A filter that never fires (mean 0) is left as it is: scaling it would change nothing."""
    return torch.where(mean > 1e-12, mean, torch.ones_like(mean))



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


@functools.lru_cache(maxsize=None)
def winograd_available() -> bool:
    """Whether PyTorch's NNPACK convolution works here and agrees with a direct convolution."""
    try:
        if not torch._nnpack_available():  # also initialises NNPACK
            return False
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(1, 4, 9, 7, generator=generator)
        weight = torch.randn(5, 4, 3, 3, generator=generator)
        bias = torch.randn(5, generator=generator)
        fast = torch._nnpack_spatial_convolution(x, weight, bias, [1, 1])
        return bool(torch.allclose(fast, F.conv2d(x, weight, bias, padding=1), rtol=1e-4, atol=1e-4))
    except Exception:  # any failure means: use the ordinary convolution
        return False


def _nnpack_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int) -> torch.Tensor:
    try:
        return torch._nnpack_spatial_convolution(x.contiguous(), weight, bias, [padding, padding])
    except RuntimeError:  # an input NNPACK refuses: fall back to the direct convolution
        return F.conv2d(x, weight, bias, padding=padding)


class _WinogradConv3x3(torch.autograd.Function):
    """3×3 convolution (stride 1, zero padding) with a gradient for the input only."""

    @staticmethod
    def forward(ctx, x, weight, bias, flipped, zero_bias, padding):
        ctx.save_for_backward(flipped, zero_bias)
        ctx.padding = padding
        return _nnpack_conv(x, weight, bias, padding)

    @staticmethod
    def backward(ctx, grad):
        flipped, zero_bias = ctx.saved_tensors
        return _nnpack_conv(grad, flipped, zero_bias, 2 - ctx.padding), None, None, None, None, None


#: Below these many positions NNPACK's per-call transforms cost more than they save
#: (forward + image gradient, measured on a 2-core AVX2 CPU against oneDNN's direct
#: convolution): from about 48×48 positions on; conv1_1 (3 channels in) from about 128×128.
WINOGRAD_MIN_POSITIONS = 48 * 48
WINOGRAD_MIN_POSITIONS_THIN = 128 * 128


class WinogradConv(nn.Module):
    """A frozen float32 CPU 3×3 conv computed by NNPACK (forward and image gradient).

    Small feature maps (see :data:`WINOGRAD_MIN_POSITIONS`) use the ordinary
    convolution, which is faster there.
    """

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv  # keeps the weights where state_dict() and tests expect them
        self.replicate = conv.padding_mode == "replicate"
        weight = conv.weight.detach()
        thin = min(weight.shape[0], weight.shape[1]) < 64
        self.min_positions = WINOGRAD_MIN_POSITIONS_THIN if thin else WINOGRAD_MIN_POSITIONS
        self.register_buffer("flipped", weight.transpose(0, 1).flip(2, 3).contiguous(), persistent=False)
        self.register_buffer("zero_bias", torch.zeros(weight.shape[1]), persistent=False)

    @property
    def weight(self) -> torch.Tensor:
        return self.conv.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or x.dtype != torch.float32 or x.shape[-1] * x.shape[-2] < self.min_positions:
            return self.conv(x)
        padding = 1
        if self.replicate:
            x, padding = F.pad(x, (1, 1, 1, 1), mode="replicate"), 0
        return _WinogradConv3x3.apply(x, self.conv.weight, self.conv.bias, self.flipped, self.zero_bias, padding)


class VGGFeatures(nn.Module):
    """Frozen, eval-mode VGG19 trunk that returns the named activations asked for."""

    def __init__(
        self,
        weights: VGGWeights,
        last_layer: str = "pool5",
        pooling: str = "avg",
        pool_rescale: bool = False,
        first_padding: str = "zeros",
        winograd: bool = False,
        factors: Optional[dict] = None,
    ):
        """``factors``: mean activation per filter (nst_core/normalise.py) for the paper's normalised network."""
        super().__init__()
        check_layers([last_layer])
        if pooling not in ("avg", "max"):
            raise BadConfig(f"Unknown pooling '{pooling}': use avg or max.")
        if first_padding not in ("zeros", "replicate"):
            raise BadConfig(f"Unknown padding '{first_padding}': use zeros or replicate.")
        self.preprocess = Preprocess(weights.source)
        convs = apply(weights, factors) if factors is not None else weights.convs
        self.names: list = []
        layers = []
        for name in LAYER_NAMES[: LAYER_INDEX[last_layer] + 1]:
            if name.startswith("conv"):
                weight, bias = convs[name]
                padding_mode = first_padding if name == "conv1_1" else "zeros"
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1, padding_mode=padding_mode)
                with torch.no_grad():
                    conv.weight.copy_(weight)
                    conv.bias.copy_(bias)
                conv.requires_grad_(False)
                layer: nn.Module = WinogradConv(conv) if winograd else conv
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
    fast_conv: bool = False,
    factors: Optional[dict] = None,
) -> VGGFeatures:
    """A network truncated after the deepest of ``layers``, cached so repeated runs reuse it.

    ``fast_conv`` on the CPU uses NNPACK's Winograd convolutions where they work here;
    ``factors`` normalise it as in the paper (nst_core/normalise.py).
    """
    layers = list(layers)
    check_layers(layers)
    last = deepest(layers)
    winograd = bool(fast_conv) and str(device).startswith("cpu") and winograd_available()
    key = (id(weights), last, pooling, pool_rescale, first_padding, device, channels_last, winograd, id(factors))
    model = _MODELS.get(key)
    if model is None:
        model = VGGFeatures(weights, last, pooling, pool_rescale, first_padding, winograd, factors).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        _MODELS.clear()  # keep one network warm, not one per setting ever used
        _MODELS[key] = model
    return model
