"""The paper's losses.

Content:  L_content = ½ Σ (F − P)²                        (``reduction="sum"``, the paper)
Style:    G = F Fᵀ,  E_l = Σ (G − A)² / (4 N_l² M_l²)
Total:    α L_content + β Σ_l w_l E_l  (+ a total-variation term, 0 in the paper)

F is an N_l × M_l matrix (filters × positions). E_l is computed in the equivalent form
Σ (G/M − A/M)² / (4 N²), which lets the style image have another size than the image
being optimised: its Gram matrix per position, A/M_a, is what the target stores.
``reduction="mean"`` divides the content loss by its element count so that its weight
means the same at every image size.

``style_reduction="per-filter"`` averages E_l over the layer's N_l filters instead of summing
them: Σ (G/M − A/M)² / (4 N³). The ``paper`` presets use it with the mean content term (why:
config.py, where they are declared).
"""
from __future__ import annotations

import torch

from .images import band_limit, resize


def _at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 features are summed in fp32; fp64 (used by the gradient tests) stays fp64."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def gram_per_position(features: torch.Tensor) -> torch.Tensor:
    """G / M for a 1×N×H×W feature map, in float32 even when features are bf16."""
    _, channels, height, width = features.shape
    flat = _at_least_fp32(features.reshape(channels, height * width))
    return (flat @ flat.T) / (height * width)


def content_loss(features: torch.Tensor, target: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """½ Σ (F − P)², or its mean over elements when ``reduction == "mean"``."""
    squared = (_at_least_fp32(features) - _at_least_fp32(target)).pow(2)
    total = squared.sum() if reduction == "sum" else squared.mean()
    return 0.5 * total


def gram_difference_loss(diff: torch.Tensor, channels: int, reduction: str = "printed") -> torch.Tensor:
    """E_l from the per-position Gram difference G/M − A/M of a layer with ``channels`` filters:
    Σ diff² / (4 N²) as printed, or that over N more ("per-filter", the module's docstring)."""
    divisor = 4.0 * channels * channels * (1 if reduction == "printed" else channels)
    return diff.pow(2).sum() / divisor


def style_layer_loss(features: torch.Tensor, target_gram_per_position: torch.Tensor,
                     reduction: str = "printed") -> torch.Tensor:
    """E_l = Σ (G − A)² / (4 N² M²), with A given per position (A/M); or the per-filter form."""
    diff = gram_per_position(features) - target_gram_per_position
    return gram_difference_loss(diff, features.shape[1], reduction)


def coarse_anchor(image: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between ``image`` seen at ``coarse``'s size and ``coarse``, below the
    coarse grid's Nyquist frequency in every direction alike (a round low-pass, images.band_limit).

    Not in the paper: it holds a level above the working size to the coarser level's picture,
    so that only detail finer than that level can change (engine, StyleConfig.refining).
    The round low-passes, before and after the shrink: the bicubic shrink alone (separable) holds a square
    of frequencies, √2 further along the diagonals than along the rows and columns, so just above the
    coarse level's frequencies only horizontal and vertical detail was free, and its gradient (the
    shrink run backwards) leaves images of the coarse grid along them; with the weight 10⁶ that fed the 'screen door' of
    horizontal and vertical lines the refining levels painted in flat areas (issue 21, finding 10:
    bench.judge.weave 10.5 → 5.8 with the round start alone (engine._with_photo_detail), → 2.2 with
    this too; tests/test_core_grid.py).
    """
    share = max(coarse.shape[-2:]) / max(image.shape[-2:])  # the coarse Nyquist frequency, as a share of the image's
    return band_limit(resize(band_limit(image, share), tuple(coarse.shape[-2:])) - coarse).pow(2).mean()


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels: a mild smoothness prior."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


#: random RGB directions of the sliced-Wasserstein palette term
PALETTE_DIRECTIONS = 32


def palette_directions(count: int, device="cpu") -> torch.Tensor:
    """3 × count fixed unit directions in RGB space (the same every run, so L-BFGS sees one objective)."""
    generator = torch.Generator().manual_seed(1234)
    directions = torch.randn(3, count, generator=generator)
    return (directions / directions.norm(dim=0, keepdim=True)).to(device)


def palette_quantiles(pixels: torch.Tensor, directions: torch.Tensor, count: int) -> torch.Tensor:
    """The target's sorted projections resampled to ``count`` quantiles (P × count)."""
    projected = (directions.T @ pixels.reshape(3, -1).float()).sort(dim=1).values  # P × K, rows sort fastest
    return torch.nn.functional.interpolate(projected[None], size=count, mode="linear", align_corners=True)[0]


def palette_loss(image: torch.Tensor, quantiles: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Sliced Wasserstein-2² between the image's RGB pixels and a painting's (Heitz et al. 2021).

    Not in the 2015 paper: a palette term beside the Gram one, so the result takes the
    painting's colour distribution, not only its correlations.
    """
    projected = (directions.T @ image.reshape(3, -1).float()).sort(dim=1).values  # P × pixels
    return (projected - quantiles).pow(2).mean()
