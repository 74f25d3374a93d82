"""Images larger than memory allows: the finest scales optimised in overlapping tiles.

VGG19's activations for one image cost about 1 KB of memory per pixel in float32 for the
forward pass plus the image gradient (≈ 4 GB at 2048², ≈ 17 GB at 4096²), so a big layer
is never pushed through the network in one piece. Instead, at every scale whose long
side exceeds ``config.tile_size``:

* the image is covered by tiles of at most ``tile_size`` px (+15) that overlap by about
  ``tile_overlap`` px and start on a 16-px grid, so every tile's pooling windows line up
  with its neighbours' and the same pixel sees the same pooling phase in every tile;
* one optimisation step evaluates every tile in turn (forward and image gradient, then
  the tile's activations are freed) and assembles a single gradient for the whole image,
  each tile's gradient weighted by a feathered mask (linear ramps across the overlaps, a
  partition of unity), so tile borders — where the network sees zero padding instead of
  the neighbouring pixels — count little, and there is one image and one L-BFGS history:
  nothing is stitched afterwards, so there is no seam to hide;
* the style targets are the Gram matrices of the *whole* style image (accumulated tile by
  tile with a halo, :func:`tiled_gram`), and every tile is asked to have the style's
  statistics; the content targets are the content's features on the same crop as the tile.

Each tile's loss is scaled by its share of the pixels, so the assembled gradient has the
size an untiled run's would have (content and style keep their balance).

Peak memory is the network's working memory for one tile plus a few image-sized buffers
(the image, its gradient, the L-BFGS history and the content targets — together a few
hundred bytes per pixel), not the ≈ 1 KB per pixel an untiled step needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .architecture import LAYER_INDEX, LAYER_NAMES
from .schedule import ALIGN, _floor_align, needs_tiling, spans  # noqa: F401 (re-exported: the tile layout is planned there)


def _ramps(span_list: Sequence[Tuple[int, int]], length: int) -> List[torch.Tensor]:
    """Per window, a 1-D weight that rises linearly across the overlap with each neighbour."""
    weights = []
    for i, (start, end) in enumerate(span_list):
        w = torch.ones(end - start)
        position = torch.arange(end - start, dtype=torch.float32) + 0.5
        if i > 0:
            left = span_list[i - 1][1] - start
            w = torch.minimum(w, position / left)
        if i < len(span_list) - 1:
            right = end - span_list[i + 1][0]
            w = torch.minimum(w, (end - start - position) / right)
        weights.append(w.clamp_min(1e-3))
    return weights


@dataclass
class Tile:
    rows: slice
    cols: slice
    weight: torch.Tensor  #: 1×1×h×w feathered weight, normalised so the tiles sum to 1 everywhere

    @property
    def pixels(self) -> int:
        return (self.rows.stop - self.rows.start) * (self.cols.stop - self.cols.start)


def plan(height: int, width: int, tile: int, overlap: int, device="cpu") -> List[Tile]:
    """The tiles covering a height × width image, with their normalised feathered weights."""
    row_spans, col_spans = spans(height, tile, overlap), spans(width, tile, overlap)
    row_w, col_w = _ramps(row_spans, height), _ramps(col_spans, width)
    total = torch.zeros(height, width)
    raw = []
    for (r0, r1), wr in zip(row_spans, row_w):
        for (c0, c1), wc in zip(col_spans, col_w):
            weight = wr[:, None] * wc[None, :]
            total[r0:r1, c0:c1] += weight
            raw.append((slice(r0, r1), slice(c0, c1), weight))
    return [Tile(rows, cols, (weight / total[rows, cols]).to(device)[None, None]) for rows, cols, weight in raw]


def _stride(layer: str) -> int:
    pools = sum(1 for name in LAYER_NAMES[: LAYER_INDEX[layer]] if name.startswith("pool"))
    return 2 ** pools


def tiled_gram(model, image: torch.Tensor, layers: Sequence[str], tile: int, halo: int,
               weights: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
    """Gram matrices per position (G/M, float32) of a whole image, computed tile by tile.

    The image is cut into disjoint cores on the 16-px grid; each core is run through the
    network with ``halo`` px of its surroundings (so features near the core's edge see
    real neighbours, not padding), and only the core's positions are counted. Exact for
    layers whose receptive field fits in the halo; close otherwise. Call under no_grad.
    ``weights`` (1×1×H×W, optional): a mask on the image; each position then counts with its
    weight (guided Gram matrices, nst_core/regions.py), the mask pooled as the features are.
    """
    height, width = image.shape[-2:]
    halo = _floor_align(max(ALIGN, halo))
    core = max(ALIGN, _floor_align(tile - 2 * halo))
    sums: Dict[str, torch.Tensor] = {}
    counts = {name: 0 for name in layers}
    if weights is not None:
        pooled = propagate(weights, layers)
    for r0 in range(0, height, core):
        r1 = min(height, r0 + core)
        for c0 in range(0, width, core):
            c1 = min(width, c0 + core)
            y0, x0 = max(0, r0 - halo), max(0, c0 - halo)
            y1, x1 = min(height, r1 + halo), min(width, c1 + halo)
            feats = model(image[..., y0:y1, x0:x1], list(layers))
            for name in layers:
                s = _stride(name)
                f = feats[name]
                part = f[..., (r0 - y0) // s: -(-(r1 - y0) // s), (c0 - x0) // s: -(-(c1 - x0) // s)]
                flat = part.reshape(part.shape[1], -1).float()
                if weights is None:
                    gram, count = flat @ flat.T, flat.shape[1]
                else:
                    w = pooled[name][..., r0 // s: -(-r1 // s), c0 // s: -(-c1 // s)].reshape(1, -1)
                    gram, count = (flat * w) @ flat.T, float(w.sum())
                sums[name] = sums[name] + gram if name in sums else gram
                counts[name] += count
            del feats
    return {name: sums[name] / max(counts[name], 1e-4) for name in layers}


def propagate(mask: torch.Tensor, layers: Sequence[str]) -> dict:
    """``mask`` (B×1×H×W at the network's input size) at each of ``layers``' resolutions.

    Walks VGG19's layer table: convolutions (3×3, padding 1) and ReLUs keep the size, each
    pool halves it, so the mask is pooled exactly where the features are and its cells line
    up with theirs. Departure from the paper (which also offers eroding masks through the
    convolutions' receptive fields): always 2×2 *average* pooling (ceil mode, as the
    network's pools), also for max-pooling networks, so a soft mask stays soft and weights
    add up across regions.
    """
    wanted = set(layers)
    out = {}
    current = mask
    for name in LAYER_NAMES[: max(LAYER_INDEX[n] for n in wanted) + 1]:
        if name.startswith("pool"):
            current = F.avg_pool2d(current, 2, ceil_mode=True)
        if name in wanted:
            out[name] = current
    return out


class TiledObjective:
    """The loss and its image gradient for one scale, evaluated tile by tile.

    ``make_objective(content_crop, tile)`` returns an object with the engine's objective
    interface: ``objective(image_crop, content_factor, factor) -> (total, content, style)``.
    """

    def __init__(self, make_objective: Callable, content: torch.Tensor, tile: int, overlap: int,
                 content_reduction: str = "mean"):
        height, width = content.shape[-2:]
        self.tiles = plan(height, width, tile, overlap, device=content.device)
        pixels = sum(t.pixels for t in self.tiles)
        self.shares = [t.pixels / pixels for t in self.tiles]
        self.sum_content = content_reduction == "sum"
        self.content_scale = (height * width) / pixels  # sum-reduced content is counted once per pixel
        self.objectives = [make_objective(content[..., t.rows, t.cols], t) for t in self.tiles]

    def __len__(self) -> int:
        return len(self.tiles)

    def evaluate(self, image: torch.Tensor):
        """(total loss, gradient of the whole image, content loss, style loss), all tensors."""
        grad = torch.zeros_like(image)
        total = content = style = None
        for tile, objective, share in zip(self.tiles, self.objectives, self.shares):
            crop = image.detach()[..., tile.rows, tile.cols].clone().requires_grad_(True)
            content_factor = 1.0 if self.sum_content else share
            with torch.enable_grad():
                t_total, t_content, t_style = objective(crop, content_factor=content_factor, factor=share)
                t_total.backward()
            grad[..., tile.rows, tile.cols].add_(crop.grad * tile.weight)
            t_content = t_content.detach() * (self.content_scale if self.sum_content else share)
            parts = (t_total.detach(), t_content, t_style.detach() * share)
            if total is None:
                total, content, style = parts
            else:
                total, content, style = total + parts[0], content + parts[1], style + parts[2]
            del crop, t_total
        return total, grad, content, style
