"""Settings of a run and the named presets, each declared once here.

``paper`` is Gatys, Ecker & Bethge (2015): the normalised VGG19 (nst_core/normalise.py),
white-noise start, average pooling, content at conv4_2, style at conv1_1…conv5_1 with
w_l = 1/5, α/β = 10⁻³ (``paper-1e-4``: 10⁻⁴), L-BFGS, one scale — with one departure, in
how the two losses are normalised (``PAPER_LOSSES`` below says which and why; the
printed sums stay reachable as ``PRINTED_SUMS``, CLI ``--printed-sums``). ``fast``,
``balanced`` (the default, equal to ``StyleConfig()``) and ``quality`` are built on the same
network for artists; their departures from the paper are listed where they are declared
(``_DECLARED``). The CLI's choices and help and the Krita dialog's preset list and hints all
read ``PRESETS`` and ``PRESET_HINTS``.

Layer names follow the paper. The paper's "conv4_2" responses are the rectified ones
(Caffe's ReLU runs in place), so the presets read the ``relu`` outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Optional, Sequence

from .errors import BadConfig
from .architecture import check_layers

PAPER_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
PAPER_CONTENT_LAYERS = ("relu4_2",)
#: StyleConfig.style_reduction: E_l as printed (a sum over the filters), or its mean over them (nst_core/losses.py)
STYLE_REDUCTIONS = ("printed", "per-filter")
#: the losses exactly as the paper prints them (CLI --printed-sums); the paper presets depart from them
PRINTED_SUMS = {"content_reduction": "sum", "style_reduction": "printed"}
#: The paper presets' one departure from the printed formulas, and why. Printed: L_content = ½ Σ (F − P)²
#: and E_l = Σ (G − A)² / (4 N_l² M_l²). On the normalised network (mean activation 1) the content
#: gradient per feature is (F − P) ~ 1 while E_l's is ~ 1/(N_l M_l) (tens of thousands to millions of
#: times smaller), so with the printed sums α/β = 10⁻³ and 10⁻⁴ both return the photo under coloured
#: noise (measured: judged style 1.1× the photo's own). Here the content term is the mean over its
#: N·M features (½ Σ / (N M)) and E_l the mean over the layer's N_l filters (÷ N_l more), which puts
#: the style gradient per feature at 1/128–1/512 of the content's per unit weight: at 10⁻³ the style
#: leads, at 10⁻⁴ it dominates, 10⁻⁵ is nearly texture and 10⁻² nearly the photo, as in the paper's
#: Figure 3 (docs/paper_sweep.jpg), at every image size (both terms are means). The authors' released
#: code (mean content, Gram entries' mean with layer weights 1/N_l²) is ÷ N_l/4 weaker still in the
#: style term: measured from white noise, 10⁻³ there is the photo with a texture (edge correlation 0.93).
PAPER_LOSSES = {"content_reduction": "mean", "style_reduction": "per-filter"}
#: start images by name: white noise (the paper), the photo, the photo recoloured to the painting's palette
INIT_CHOICES = ("noise", "content", "recoloured")
#: "auto" leaves the choice to nst_core/speed.py
PRECISIONS = ("auto", "fp32", "bf16")
#: ``finish_size`` that means "the content's own size" (every finish size is capped at the content's)
FINISH_AT_CONTENT = 16384
#: above the working size, a level refines brushwork, not composition: the style layers it matches.
#: The anchor holds everything coarser than the level below it (√2 coarser), so what is left to
#: paint is the finest octave, which these shallow layers see; the deeper ones see structure already set
REFINE_LAYERS = ("relu1_1", "relu2_1")
#: how far a front end's run goes (its "Detail" choice): on to the layer's own size (``finish_size`` =
#: FINISH_AT_CONTENT), or ending at the working size and scaled to the layer; the first is the default
DETAIL_CHOICES = (("layer", "Sharp at the layer's own size"), ("working", "Working size, scaled to the layer (faster)"))
#: the painting's size relative to the working size, smallest and largest
STYLE_SCALE_RANGE = (0.05, 8.0)
#: StyleConfig.temporal_weight's default (from Ruder et al.-style runs on another machine; not yet re-tuned by a benchmark here)
TEMPORAL_WEIGHT = 2e4
#: StyleConfig.frame_step_ratio's default (from runs on another machine; not yet re-tuned by a benchmark here)
FRAME_STEP_RATIO = 0.3
#: frame_step_ratio's range
FRAME_STEP_RATIO_RANGE = (0.05, 1.0)


@dataclass
class StyleConfig:
    """Everything that decides the result; front ends start from a preset and override."""

    preset: str = "balanced"
    size: Optional[int] = 512  #: long side of the working image in px; None = content's own size
    steps: int = 40  #: optimisation steps at each scale (at the coarsest one when step_ratio < 1)
    scales: int = 3  #: coarse-to-fine levels, a factor √2 apart (1 = single scale)
    content_weight: float = 1.0  #: α
    style_weight: float = 1e3  #: β (relative to α; the artist presets use mean content loss)
    tv_weight: float = 0.0
    palette_weight: float = 1e4  #: sliced-Wasserstein palette term (not in the paper; Heitz et al. 2021)
    optimizer: str = "lbfgs"  #: "lbfgs" or "adam"
    learning_rate: float = 0.02  #: Adam's step in 0–1 pixel units
    ema_decay: float = 0.0  #: Adam only: output the exponential moving average of iterates
    init: Any = "recoloured"  #: one of INIT_CHOICES, a path, or an H×W×3 array
    seed: Optional[int] = None
    device: str = "auto"
    pooling: str = "avg"
    normalise: bool = True  #: the paper's normalised VGG19 (each filter's mean activation 1; nst_core/normalise.py)
    pool_rescale: bool = False  #: ×2 after each average pool (for the raw network, whose deep layers then fade)
    first_padding: str = "replicate"
    content_layers: Sequence[str] = PAPER_CONTENT_LAYERS
    style_layers: Sequence[str] = PAPER_STYLE_LAYERS
    style_layer_weights: Optional[Sequence[float]] = None  #: None = equal, summing to 1
    content_reduction: str = "mean"  #: "sum" as printed in the paper, or "mean" (size-independent)
    #: "printed" E_l as in the paper, or "per-filter": its mean over the layer's filters (losses.py)
    style_reduction: str = "printed"
    style_blend: Optional[Sequence[float]] = None  #: weights of several styles; None = equal
    style_scale: float = 1.0  #: style image's long side relative to the working size
    preserve_colors: Optional[str] = None  #: None, "luminance" or "histogram"
    weights: Optional[str] = None  #: path of a weights file; None = search
    weights_source: str = "auto"  #: "auto", "caffe" or "torchvision"
    preview_every: int = 0  #: attach a preview image to every n-th progress report (0 = never)
    channels_last: bool = False
    #: "bf16" autocast for the convolutions (Grams and losses float32), "fp32", or "auto": bf16 on CUDA,
    #: on the CPU whichever nst_core/speed.py measured fastest here
    precision: str = "auto"
    min_scale_size: int = 64  #: coarse levels smaller than this are skipped
    step_ratio: float = 0.6  #: steps at each finer scale = this × the coarser one's (``steps`` at the coarsest)
    finish_size: int = 0  #: 0 = end at ``size``; else go on √2 apart up to this long side (px; FINISH_AT_CONTENT: the content's own)
    #: style layers of the levels above the working size (those of ``style_layers`` named here; none = all)
    refine_layers: Sequence[str] = REFINE_LAYERS
    refine_anchor: float = 1e6  #: weight holding a level above the working size to the coarser level's picture
    #: CPU: Winograd (NNPACK) convolutions — same objective, fewer multiplies; None = if measured faster here (speed.py)
    fast_conv: Optional[bool] = None
    compile: bool = False  #: CUDA: torch.compile the network (slow first run, faster steps after)
    tile_size: int = 1024  #: scales whose long side exceeds this are optimised in overlapping tiles (0 = never)
    tile_overlap: int = 128  #: px shared by neighbouring tiles, blended with feathered weights
    output_size: str = "content"  #: "content" (same size as the input, for layers) or "working"
    #: animation (nst_core/animation.py): weight of Ruder et al.'s temporal term, the mean over reliable
    #: pixels of (x − warped previous styled frame)² in 0–1 units; 0 = frames independent but warm-started
    temporal_weight: float = TEMPORAL_WEIGHT
    #: animation: a frame after the first runs one scale at the working size with this × ``steps`` steps
    frame_step_ratio: float = FRAME_STEP_RATIO

    @classmethod
    def from_preset(cls, name: str = "balanced", **overrides: Any) -> "StyleConfig":
        """A preset's settings with ``overrides`` applied; unknown names are refused."""
        if name not in PRESETS:
            raise BadConfig(f"Unknown preset '{name}': use one of {', '.join(PRESETS)}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise BadConfig(f"Unknown setting(s) {', '.join(unknown)}: valid ones are {', '.join(sorted(known))}.")
        config = replace(PRESETS[name], **overrides)
        config.validate()
        return config

    def layer_weights(self) -> list:
        """Style layer weights w_l, normalised to sum to 1 (the paper's 1/5 each by default)."""
        raw = list(self.style_layer_weights or [1.0] * len(self.style_layers))
        total = sum(raw)
        return [w / total for w in raw]

    def refining(self) -> "StyleConfig":
        """The settings of a level above the working size (not in the paper, which runs one scale).

        Such a level starts from the coarser level's picture plus the photo's finer detail
        (engine._with_photo_detail) and only re-paints that detail: its style is matched at the
        shallow ``refine_layers`` alone, with their weights and β unchanged, so the network stops
        at the deepest of them (a step costs a fraction of a working one, nst_core/schedule.py);
        instead of the content term, ``refine_anchor`` holds the picture, seen at the coarser
        level's size, to that level's (losses.coarse_anchor), so the look is the same at every
        size; and the palette term is left out (the colours are the coarser level's, held there).
        """
        weights = dict(zip(self.style_layers, self.layer_weights()))
        kept = [name for name in self.style_layers if name in self.refine_layers] or list(self.style_layers)
        share = sum(weights[name] for name in kept)
        return replace(self, content_layers=(), style_layers=tuple(kept), style_weight=self.style_weight * share,
                       palette_weight=0.0,
                       style_layer_weights=tuple(weights[name] / share for name in kept))

    def validate(self) -> None:
        """Refuse settings that cannot work, with the range that would."""
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise BadConfig(message)

        # Types and finiteness first, so the range checks below never meet a string, NaN or inf
        # (front ends and scripts pass what users typed; each gets one plain sentence).
        import math
        import numbers

        whole = ("size", "seed", "steps", "scales", "tile_size", "tile_overlap", "preview_every", "min_scale_size",
                 "finish_size")
        for item in fields(self):
            name, value, default = item.name, getattr(self, item.name), item.default
            if name not in whole and (isinstance(default, bool) or not isinstance(default, (int, float))):
                continue
            if value is None and name in ("size", "seed"):
                continue
            label = name.replace("_", " ").capitalize()
            if name in whole:
                integral = isinstance(value, numbers.Integral) or (
                    isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer())
                need(integral and not isinstance(value, bool), f"{label} {value!r} is not a whole number: give one such as {default if default is not None else 1}.")
            else:
                need(isinstance(value, numbers.Real) and not isinstance(value, bool),
                     f"{label} {value!r} is not a number: give one such as {default}.")
                need(not math.isnan(value), f"{label} {value} is not a number (NaN): give one such as {default}.")
                need(not math.isinf(value), f"{label} {value} is infinite: give a finite number such as {default}.")
                need(abs(value) <= 1e12, f"{label} {value} is too large: use at most 1e12.")
        need(self.seed is None or 0 <= int(self.seed) <= 2**32 - 1,
             f"Seed {self.seed} is out of range: use a whole number from 0 to {2**32 - 1}.")
        for name in ("style_blend", "style_layer_weights"):
            values = getattr(self, name)
            if values is None:
                continue
            label = name.replace("_", " ").capitalize()
            need(isinstance(values, (list, tuple)) or hasattr(values, "__iter__") and not isinstance(values, str),
                 f"{label} {values!r} is not a list of numbers: give one number per item, e.g. [1, 1].")
            values = list(values)
            need(all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= 1e12
                     for v in values),
                 f"{label} {values} must be finite numbers: give one number per item, e.g. [1, 1].")

        need(self.size is None or 16 <= int(self.size) <= 16384, f"Size {self.size} is out of range: use 16 to 16384 px.")
        need(self.finish_size == 0 or 16 <= int(self.finish_size) <= FINISH_AT_CONTENT,
             f"Finish size {self.finish_size} is out of range: use 0 (end at the working size) or 16 to {FINISH_AT_CONTENT} px.")
        need(1 <= int(self.steps) <= 100000, f"Steps {self.steps} is out of range: use 1 to 100000.")
        need(1 <= int(self.scales) <= 8, f"Scales {self.scales} is out of range: use 1 to 8.")
        for name in ("content_weight", "style_weight", "tv_weight", "palette_weight", "learning_rate", "temporal_weight"):
            value = getattr(self, name)
            need(value >= 0, f"{name.replace('_', ' ').capitalize()} {value} is negative: use 0 or more.")
        need(0.0 <= self.ema_decay < 1.0, f"EMA decay {self.ema_decay} is out of range: use 0 (off) to 0.999.")
        need(self.optimizer in ("lbfgs", "adam"), f"Unknown optimizer '{self.optimizer}': use lbfgs or adam.")
        low, high = STYLE_SCALE_RANGE
        need(low <= self.style_scale <= high, f"Style scale {self.style_scale} is out of range: use {low:g} to {high:g}.")
        need(self.preserve_colors in (None, "luminance", "histogram"),
             f"Unknown colour preservation '{self.preserve_colors}': use luminance or histogram.")
        need(self.content_reduction in ("sum", "mean"), f"Unknown content reduction '{self.content_reduction}': use sum or mean.")
        need(self.style_reduction in STYLE_REDUCTIONS,
             f"Unknown style reduction '{self.style_reduction}': use {' or '.join(STYLE_REDUCTIONS)}.")
        need(self.precision in PRECISIONS, f"Unknown precision '{self.precision}': use {', '.join(PRECISIONS)}.")
        need(0.05 <= self.step_ratio <= 1.0, f"Step ratio {self.step_ratio} is out of range: use 0.05 to 1.")
        low, high = FRAME_STEP_RATIO_RANGE
        need(low <= self.frame_step_ratio <= high,
             f"Frame step ratio {self.frame_step_ratio} is out of range: use {low:g} to {high:g}.")
        need(self.tile_size == 0 or 64 <= int(self.tile_size) <= 16384,
             f"Tile size {self.tile_size} is out of range: use 0 (no tiling) or 64 to 16384 px.")
        need(0 <= int(self.tile_overlap) <= int(self.tile_size) // 2 or self.tile_size == 0,
             f"Tile overlap {self.tile_overlap} is out of range: use 0 to half the tile size.")
        need(self.output_size in ("content", "working"), f"Unknown output size '{self.output_size}': use content or working.")
        need(len(self.style_layers) > 0, "No style layers given: name at least one, e.g. relu1_1.")
        need(len(self.content_layers) > 0, "No content layers given: name at least one, e.g. relu4_2.")
        check_layers(list(self.content_layers) + list(self.style_layers) + list(self.refine_layers))
        need(self.refine_anchor >= 0, f"Refine anchor {self.refine_anchor} is negative: use 0 or more.")
        if self.style_layer_weights is not None:
            need(len(self.style_layer_weights) == len(self.style_layers),
                 f"{len(self.style_layer_weights)} style layer weights for {len(self.style_layers)} style layers: give one per layer.")
            need(all(w >= 0 for w in self.style_layer_weights) and sum(self.style_layer_weights) > 0,
                 "Style layer weights must be 0 or more and not all 0.")
        if self.style_blend is not None:
            need(all(w >= 0 for w in self.style_blend) and sum(self.style_blend) > 0,
                 "Style blend weights must be 0 or more and not all 0.")
        if isinstance(self.init, str) and self.init not in INIT_CHOICES:
            from pathlib import Path

            need(Path(self.init).expanduser().is_file(),
                 f"The init image '{self.init}' does not exist: use noise, content or an image file.")


DEFAULT_PRESET = "balanced"

#: name -> (one-line hint shown by the CLI's --help and the plugin's dialog, settings). ``StyleConfig()``
#: is ``balanced``; the other artist presets change only cost. Artist presets, against the paper: the
#: paper's normalised network and losses, but the photo recoloured to the painting's palette as start
#: (not white noise), a sliced-Wasserstein palette term beside the Gram one, the content loss as a mean
#: (its weight means the same at every size), replicate padding on conv1_1, coarse-to-fine √2 apart
#: with fewer steps at each finer scale, bf16 convolutions on CUDA (Grams and losses in float32).
#: Their weights were chosen with ``python -m bench --quality`` over every development pair (BENCHMARKS.md).
_DECLARED = {
    "fast": ("a quick look: 384 px, 2 scales, about a third of balanced's time",
             StyleConfig(preset="fast", size=384, steps=30, scales=2)),
    "balanced": ("the default: 512 px, painted in the painting's palette and brushwork, 3 scales",
                 StyleConfig()),
    "quality": ("finer brushwork: 1024 px, 4 scales, more steps (several times balanced's time)",
                StyleConfig(preset="quality", size=1024, steps=60, scales=4, step_ratio=0.6)),
    "paper": ("Gatys et al. 2015: white noise, α/β = 10⁻³, one scale, 500 steps (slow)",
              StyleConfig(
                  preset="paper",
                  size=512,
                  steps=500,
                  scales=1,
                  step_ratio=1.0,
                  content_weight=1.0,
                  style_weight=1e3,  # α/β = 10⁻³
                  palette_weight=0.0,
                  init="noise",
                  pooling="avg",
                  normalise=True,
                  pool_rescale=False,
                  first_padding="zeros",
                  content_layers=PAPER_CONTENT_LAYERS,
                  style_layers=PAPER_STYLE_LAYERS,
                  style_layer_weights=(0.2, 0.2, 0.2, 0.2, 0.2),
                  **PAPER_LOSSES,  # the one departure (PAPER_LOSSES says why)
                  tv_weight=0.0,
                  precision="fp32",
              )),
}
_DECLARED["paper-1e-4"] = ("Gatys et al. 2015 with the paper's stronger style: α/β = 10⁻⁴",
                           replace(_DECLARED["paper"][1], preset="paper-1e-4", style_weight=1e4))

PRESETS = {name: config for name, (_, config) in _DECLARED.items()}
PRESET_HINTS = {name: hint for name, (hint, _) in _DECLARED.items()}


def later_frame_config(config: StyleConfig) -> StyleConfig:
    """The settings of an animation's frame after the first (nst_core/animation.py): one scale
    at the working size, ``frame_step_ratio`` × the steps. Here, torch-free, so the editors' cost
    lines can plan a clip."""
    return replace(config, scales=1, steps=max(1, round(int(config.steps) * float(config.frame_step_ratio))))
