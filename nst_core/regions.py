"""Different paintings in different regions (Gatys, Ecker, Bethge, Hertzmann & Shechtman,
*Controlling Perceptual Factors in Neural Style Transfer*, CVPR 2017, "spatial control").

Why this module exists: a painter wants "this painting for the sky, that one for the
buildings". Each style gets a soft mask (0–1) on the photo; its Gram matrices are matched
only where its mask is ("guided Gram matrices"), with the mask carried down to every style
layer's resolution by the same pooling the features go through, so region boundaries stay
where they were drawn. A painting can also give its statistics from only a region of itself
(a mask on the painting). All region maths lives here; the engine asks :func:`plan` for a
:class:`Plan` (``None`` without masks, so a run without masks is exactly the unmasked one).

Regions, in one place:

* every masked style is its own region, weighted by its mask;
* the styles given no mask together paint "the rest" — ``1 − Σ masks`` clipped to 0–1 —
  blended by ``style_blend`` as an unmasked run blends them; if every style has a mask,
  the rest keeps the photo's look (content term only) and starts from the photo itself;
* soft masks overlap freely; where they sum above 1 each style still counts its own weight.

Departures from the paper are commented where they happen (mask-weighted rather than
mask-multiplied Grams, average pooling of the masks also in max-pooling networks, the
region's share as the loss weight, and a mask-weighted palette term and recoloured start,
which the paper does not have).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import images, tiling
from .tiling import propagate  # noqa: F401 (re-exported: masks through the network)
from .colors import LUMA, _sqrt_and_inverse_sqrt
from .errors import BadConfig, BadImage
from .losses import PALETTE_DIRECTIONS, _at_least_fp32, gram_difference_loss, palette_directions

#: mask values below this count as "not here" (a region that weighs less is skipped)
EMPTY = 1e-4
#: points of each painting region's palette quantile function kept per direction
QUANTILES = 1024
#: the luma weights (Rec. 601) used to read an RGB mask image as grey


# ---------------------------------------------------------------------------- reading masks
def load_mask(mask: Any, name: str = "mask") -> Optional[np.ndarray]:
    """A mask as float32 H×W in 0–1 (white = this style), or None for "no mask".

    Takes a path (``"-"`` = none), a PIL image, or a numpy/torch array H×W, H×W×1, ×3 (read
    as grey) or ×4 / ×2 (grey × alpha, so a transparent area is "not here"); uint8, uint16
    or float in 0–1. Files are checked against the pixel budget from their header.
    """
    if mask is None or (isinstance(mask, str) and mask.strip() == "-"):
        return None
    try:
        rgb, alpha = images.to_float_image(mask, name)
    except BadImage:
        raise
    except (TypeError, ValueError) as exc:
        raise BadImage(f"The {name} could not be read ({exc}): give a greyscale image, white where the style goes.") from None
    grey = rgb @ np.asarray(LUMA, dtype=np.float32)
    if alpha is not None:
        grey = grey * alpha
    return np.ascontiguousarray(np.clip(grey, 0.0, 1.0), dtype=np.float32)


def _per_style(masks: Any, count: int, what: str) -> List[Optional[np.ndarray]]:
    """One loaded mask (or None) per style; a count mismatch is refused in one sentence."""
    if masks is None:
        return [None] * count
    if not isinstance(masks, (list, tuple)):
        masks = [masks]  # a single mask for a single style
    masks = list(masks)
    if len(masks) != count:
        raise BadConfig(f"{len(masks)} {what}{'s' if len(masks) != 1 else ''} for {count} style image{'s' if count != 1 else ''}: "
                        f"give one {what} per style (None, or '-' on the command line, for none).")
    loaded = [load_mask(m, f"{what} {i + 1}") for i, m in enumerate(masks)]
    for i, m in enumerate(loaded):
        if m is not None and not m.max() > EMPTY:
            raise BadImage(f"The {what} {i + 1} is black everywhere, so style {i + 1} would go nowhere: "
                           "paint white where it should go (or give no mask).")
    return loaded


# ---------------------------------------------------------------------------- resampling and propagation
def resize_mask(mask: Any, size: Sequence[int], device="cpu") -> torch.Tensor:
    """A mask (H×W numpy or B×1×H×W tensor) resampled to ``size`` as B×1×h×w float32 in 0–1.

    Bilinear, antialiased when shrinking (an area average), so a soft edge stays soft and a
    hard one moves by less than a pixel.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(mask))[None, None] if isinstance(mask, np.ndarray) else mask
    tensor = tensor.to(device=device, dtype=torch.float32)
    size = tuple(int(s) for s in size)
    if tuple(tensor.shape[-2:]) != size:
        shrinking = size[0] < tensor.shape[-2] or size[1] < tensor.shape[-1]
        tensor = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False, antialias=shrinking)
    return tensor.clamp(0.0, 1.0)


# ---------------------------------------------------------------------------- guided Gram matrices
def guided_gram(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ_p m_p f_p f_pᵀ / Σ_p m_p for a 1×N×H×W feature map and a 1×1×H×W mask (float32).

    Departure from the paper: it multiplies the features by the mask (F∘T), i.e. weights
    each position by m²; here each position is weighted by m, so the regions' weights at a
    position add up to 1 (a partition of unity) and a soft edge blends the two paintings'
    statistics linearly. With m = 1 everywhere this is exactly ``gram_per_position``.
    """
    channels = features.shape[1]
    flat = _at_least_fp32(features.reshape(channels, -1))
    weights = mask.reshape(1, -1).to(flat.dtype)
    return ((flat * weights) @ flat.T) / weights.sum().clamp_min(EMPTY)


def painting_grams(model, style: torch.Tensor, mask: Optional[torch.Tensor], layers: Sequence[str],
                   tile_size: int, tile_overlap: int) -> dict:
    """G/M per style layer of a painting, over only its masked region when ``mask`` is given.

    The painting is first cropped to the mask's bounding box (on the 16-px grid, so pooling
    lines up), which also saves the work of the unmasked part. Call under no_grad.
    """
    if mask is not None:
        rows, cols = _bounding_box(mask[0, 0], tuple(style.shape[-2:]))
        style, mask = style[..., rows, cols], mask[..., rows, cols]
    if tiling.needs_tiling(tuple(style.shape[-2:]), tile_size):
        return tiling.tiled_gram(model, style, layers, tile_size, tile_overlap, weights=mask)
    feats = model(style, list(layers))
    if mask is None:
        from .losses import gram_per_position

        return {name: gram_per_position(feats[name]) for name in layers}
    masks = propagate(mask, layers)
    return {name: guided_gram(feats[name], masks[name]) for name in layers}


def _bounding_box(mask: torch.Tensor, size: tuple) -> tuple:
    ys, xs = torch.nonzero(mask > EMPTY, as_tuple=True)
    align = tiling.ALIGN
    top, left = int(ys.min()) // align * align, int(xs.min()) // align * align
    bottom, right = min(size[0], int(ys.max()) + 1), min(size[1], int(xs.max()) + 1)
    # at least 32 px a side where the painting allows (a pixel-sized region still gets a receptive field)
    bottom, right = min(size[0], max(bottom, top + 2 * align)), min(size[1], max(right, left + 2 * align))
    return slice(top, bottom), slice(left, right)


# ---------------------------------------------------------------------------- palettes
def weighted_quantiles(pixels: torch.Tensor, weights: torch.Tensor, directions: torch.Tensor,
                       count: int = QUANTILES) -> torch.Tensor:
    """count × P: the quantile function of weighted pixels (K × 3) projected on each direction.

    Each pixel covers a share of the probability mass equal to its weight; the function is
    sampled at ``count`` evenly spaced levels from 0 to 1.
    """
    keep = weights > EMPTY * weights.max()  # relative: a pixel's weight may be ~1/K
    pixels, weights = pixels[keep].float(), weights[keep].float()
    projected, order = (pixels @ directions).sort(dim=0)  # K × P
    mass = weights[order]
    cumulative = mass.cumsum(0)
    levels = ((cumulative - 0.5 * mass) / cumulative[-1:]).T.contiguous()  # P × K, increasing
    wanted = torch.linspace(0.0, 1.0, count, device=pixels.device).expand(levels.shape[0], count).contiguous()
    if levels.shape[1] == 1:
        return projected.expand(count, -1).contiguous()
    high = torch.searchsorted(levels, wanted).clamp(1, levels.shape[1] - 1)
    low = high - 1
    l_low, l_high = levels.gather(1, low), levels.gather(1, high)
    frac = ((wanted - l_low) / (l_high - l_low).clamp_min(1e-12)).clamp(0.0, 1.0)
    values = projected.T
    return (values.gather(1, low) * (1 - frac) + values.gather(1, high) * frac).T.contiguous()


def _sample_table(table: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The quantile function ``table`` (Q × P, levels 0…1) read at ``levels`` (N × P), linearly."""
    position = levels * (table.shape[0] - 1)
    low = position.floor().long().clamp(0, table.shape[0] - 2)
    frac = position - low
    return table.gather(0, low) * (1 - frac) + table.gather(0, low + 1) * frac


def masked_palette_loss(image: torch.Tensor, masks: torch.Tensor, tables: list, strengths: list,
                        directions: torch.Tensor) -> torch.Tensor:
    """Σ_regions mask-weighted sliced Wasserstein-2² between the image's pixels and each region's painting.

    Not in the paper (nor is the unmasked palette term): the image's projections are sorted
    once; for each region its pixels' mask weights, in that order, give cumulative levels —
    the quantile each pixel sits at *within the region* — and each pixel is pulled towards
    the painting's value at that quantile, weighted by its mask. With one all-white mask this
    is the unmasked palette term (up to where the quantiles are sampled).
    """
    projected = directions.T @ image.reshape(3, -1).float()  # P × N: rows sort fastest
    ordered, order = (part.T for part in projected.sort(dim=1))  # N × P views
    total = projected.new_zeros(())
    count = projected.numel()
    for mask, table, strength in zip(masks, tables, strengths):
        if table is None:
            continue
        weight = mask.reshape(-1)[order]
        cumulative = weight.cumsum(0)
        with torch.no_grad():
            levels = ((cumulative - 0.5 * weight) / cumulative[-1:].clamp_min(EMPTY)).clamp(0.0, 1.0)
            target = _sample_table(table, levels)
        total = total + strength * (weight * (ordered - target).pow(2)).sum() / count
    return total


def recolour(content: np.ndarray, weights: np.ndarray, palette: np.ndarray, palette_weights: np.ndarray) -> np.ndarray:
    """``content`` (H×W×3) mapped affinely so its colours *in the region* (``weights``, H×W)
    take the mean and covariance of the weighted ``palette`` (K×3) — colors.match_histogram
    with weights, used for the recoloured start of each region."""
    def stats(pixels, w):
        w = w / max(float(w.sum()), EMPTY)
        mean = w @ pixels
        centred = pixels - mean
        return mean, (centred * w[:, None]).T @ centred + 1e-6 * np.eye(3)

    pixels = content.reshape(-1, 3).astype(np.float64)
    mu_c, cov_c = stats(pixels, weights.reshape(-1).astype(np.float64))
    mu_p, cov_p = stats(palette.astype(np.float64), palette_weights.astype(np.float64))
    _, inverse_root_c = _sqrt_and_inverse_sqrt(cov_c)
    root_p, _ = _sqrt_and_inverse_sqrt(cov_p)
    mapped = (pixels - mu_c) @ (root_p @ inverse_root_c).T + mu_p
    return np.clip(mapped, 0.0, 1.0).reshape(content.shape).astype(np.float32)


# ---------------------------------------------------------------------------- the plan of a run
@dataclass
class Region:
    """One region of the photo and the painting(s) whose statistics it gets."""

    styles: List[int]  #: indices into the run's style list
    blend: List[float]  #: their weights within the region (sum 1)
    mask: Optional[np.ndarray]  #: H×W at the mask's own size; None = the rest (1 − Σ other masks)


@dataclass
class Plan:
    regions: List[Region]
    painting_masks: List[Optional[np.ndarray]]  #: per style: the part of the painting to learn from

    # ------------------------------------------------------------------ masks at a size
    def masks(self, size: Sequence[int], device="cpu") -> torch.Tensor:
        """R×1×h×w: each region's weight at ``size``; the rest is 1 − Σ the drawn masks."""
        drawn = [resize_mask(r.mask, size, device) for r in self.regions if r.mask is not None]
        covered = torch.stack(drawn).sum(0) if drawn else torch.zeros(1, 1, *size, device=device)
        out = [resize_mask(r.mask, size, device) if r.mask is not None else (1 - covered).clamp(0, 1)
               for r in self.regions]
        return torch.cat(out)

    def _painting_pixels(self, region: Region, styles: Sequence[np.ndarray]):
        """(K×3 pixels, K weights) of a region's paintings: each painting's mask × its blend share."""
        pixels, weights = [], []
        for index, share in zip(region.styles, region.blend):
            rgb = styles[index]
            mask = self.painting_masks[index]
            m = (np.ones(rgb.shape[:2], np.float32) if mask is None
                 else resize_mask(mask, rgb.shape[:2])[0, 0].numpy())
            pixels.append(rgb.reshape(-1, 3))
            weights.append(m.reshape(-1) * (share / max(float(m.sum()), EMPTY)))
        return np.concatenate(pixels), np.concatenate(weights)

    def start(self, content: np.ndarray, styles: Sequence[np.ndarray]) -> np.ndarray:
        """The recoloured start: each region recoloured towards its own paintings' palette,
        blended by the masks; pixels no region covers keep the photo's colours."""
        masks = self.masks(content.shape[:2])[:, 0].numpy().astype(np.float64)  # R×H×W
        masks = masks / np.maximum(1.0, masks.sum(0, keepdims=True))
        out = content.astype(np.float64) * (1.0 - masks.sum(0))[..., None]
        for region, weight in zip(self.regions, masks):
            pixels, palette_weights = self._painting_pixels(region, styles)
            out += recolour(content, weight, pixels, palette_weights) * weight[..., None]
        return np.clip(out, 0.0, 1.0).astype(np.float32)

    # ------------------------------------------------------------------ targets at one scale
    def targets(self, model, config, styles: Sequence[torch.Tensor], size: Sequence[int]) -> "RegionTargets":
        """Each region's Gram matrices (and palette) from its paintings at this scale's style size."""
        layers = list(config.style_layers)
        device = styles[0].device
        per_style = {}
        with torch.no_grad():
            for region in self.regions:
                for index in region.styles:
                    if index in per_style:
                        continue
                    style = styles[index]
                    mask = self.painting_masks[index]
                    mask_t = None if mask is None else resize_mask(mask, style.shape[-2:], device)
                    per_style[index] = painting_grams(model, style, mask_t, layers, config.tile_size, config.tile_overlap)
        grams = [{name: sum(w * per_style[i][name] for i, w in zip(r.styles, r.blend)) for name in layers}
                 for r in self.regions]
        directions, tables = None, [None] * len(self.regions)
        if config.palette_weight > 0:

            directions = palette_directions(PALETTE_DIRECTIONS, device)
            arrays = [images.to_numpy(s) for s in styles]
            tables = []
            for region in self.regions:
                pixels, weights = self._painting_pixels(region, arrays)
                tables.append(weighted_quantiles(torch.from_numpy(pixels).to(device),
                                                 torch.from_numpy(weights).to(device), directions))
        return RegionTargets(grams, tables, directions, self.masks(size, device))


@dataclass
class RegionTargets:
    """What each region is asked to match at one scale, with the regions' masks at that scale."""

    grams: List[dict]
    palettes: List[Optional[torch.Tensor]]
    directions: Optional[torch.Tensor]
    masks: torch.Tensor  #: R×1×h×w at the scale's size

    def crop(self, rows: slice = slice(None), cols: slice = slice(None)) -> "RegionLoss":
        """The losses for one tile (or, with the default slices, the whole image)."""
        return RegionLoss(self, self.masks[..., rows, cols])


@dataclass
class RegionLoss:
    targets: RegionTargets
    masks: torch.Tensor  #: R×1×h×w, this objective's crop
    _layers: dict = field(default_factory=dict)

    def _at(self, layers: Sequence[str]) -> dict:
        if not self._layers:
            self._layers.update(propagate(self.masks, layers))
        return self._layers

    def style(self, feats: dict, layer_weights: dict, reduction: str = "printed") -> torch.Tensor:
        """Σ_regions Σ_l w_l · share · E_l(guided G, the region's A).

        Departure from the paper: each region's term is weighted by its share of the image
        (its mean mask value at that layer), so every pixel is pushed as hard as in an
        unmasked run whatever its region's size, and one all-white mask gives exactly the
        unmasked style loss. Regions absent from this crop add nothing.
        """
        masks = self._at(list(layer_weights))
        total = None
        for r, grams in enumerate(self.targets.grams):
            for name, weight in layer_weights.items():
                mask = masks[name][r:r + 1]
                share = mask.mean()
                if not share > EMPTY:
                    continue
                feature = feats[name]
                diff = guided_gram(feature, mask) - grams[name]
                term = weight * share * gram_difference_loss(diff, feature.shape[1], reduction)
                total = term if total is None else total + term
        if total is None:
            return next(iter(feats.values())).new_zeros((), dtype=torch.float32)
        return total

    def palette(self, image: torch.Tensor) -> torch.Tensor:
        return masked_palette_loss(image, self.masks, self.targets.palettes, [1.0] * len(self.masks),
                                   self.targets.directions)

    @property
    def has_palette(self) -> bool:
        return self.targets.directions is not None


def plan(masks: Any, painting_masks: Any, count: int, blend: Sequence[float]) -> Optional[Plan]:
    """The regions of a run, or None when no mask is given (the engine's unmasked path).

    ``masks``: one per style (or one for a single style), each a mask or None; ``painting_masks``
    the same for the paintings. Count mismatches, unreadable and all-black masks are refused
    in one plain sentence (BadConfig / BadImage).
    """
    content_masks = _per_style(masks, count, "mask")
    painting = _per_style(painting_masks, count, "painting mask")
    if all(m is None for m in content_masks) and all(m is None for m in painting):
        return None
    regions = [Region([i], [1.0], m) for i, m in enumerate(content_masks) if m is not None]
    rest = [i for i, m in enumerate(content_masks) if m is None]
    if rest:
        # the unmasked styles share the rest, blended exactly as an unmasked run blends them
        total = sum(blend[i] for i in rest)
        if total > 0:
            regions.append(Region(rest, [blend[i] / total for i in rest], None))
    return Plan(regions, painting)
