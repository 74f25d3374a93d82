"""The optimisation loop: the heart of Gatys et al.'s method.

An image x is optimised so that its VGG19 features match the content's and its Gram
matrices match the style's. Coarse-to-fine: the run starts at a small size, where steps
are cheap and large-scale structure forms, then upsamples x by √2 at a time and refines;
Adam's moments are resampled to the new size so the optimiser keeps its momentum, while
L-BFGS (whose history cannot be resized) restarts. ``step_ratio`` < 1 puts most steps at
the cheap coarse scales and only a few at full size.

Speed paths (measured in BENCHMARKS.md): the network is truncated after the deepest layer
used and loaded once per process; Gram targets are computed once per scale; on the CPU the
convolutions run as Winograd transforms (``fast_conv``); on CUDA the convolutions run in
bf16 autocast (``precision``) with Gram matrices and losses in float32, cuDNN autotuning,
optional ``torch.compile``, an L-BFGS whose decisions are tensor operations and loss
values fetched asynchronously one step late, so the loop never waits for the GPU. Scales
larger than ``tile_size`` are optimised tile by tile (nst_core/tiling.py).
"""
from __future__ import annotations

import math
import secrets
import time
from contextlib import nullcontext
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import torch

from . import colors, images, tiling
from .config import StyleConfig
from .device import available_device
from .errors import BadConfig, BadImage, Cancelled, OutOfMemory
from .lbfgs import ImageLBFGS
from .losses import content_loss, gram_per_position, style_layer_loss, total_variation
from .result import Progress, StyleResult
from .vgg import build_features
from .weights import find_weights, load_weights

CancelFlag = Union[None, Callable[[], bool], Any]
ProgressCallback = Optional[Callable[[Progress], None]]


def _cancel_requested(cancel: CancelFlag) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def scale_sizes(height: int, width: int, long_side: int, scales: int, min_size: int) -> list:
    """(h, w) per level, finest last, a factor √2 apart; levels below ``min_size`` dropped."""
    sizes = []
    for level in range(scales - 1, -1, -1):
        side = round(long_side / math.sqrt(2) ** level)
        if side >= min(min_size, long_side):
            sizes.append(images.fit_long_side(height, width, side))
    return sizes


def _steps_per_scale(config: StyleConfig, levels: int) -> list:
    """``steps`` at the coarsest scale, ``step_ratio`` times fewer at each finer one (at least 1)."""
    return [max(1, round(int(config.steps) * float(config.step_ratio) ** level)) for level in range(levels)]


def _autocast(config: StyleConfig, device_type: str):
    if config.precision == "bf16" and device_type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _style_targets(model, config: StyleConfig, styles: list, blend: list) -> dict:
    """Σ blend · G/M per style layer (float32), for the whole of each style image."""
    targets = {name: 0 for name in config.style_layers}
    with torch.no_grad(), _autocast(config, styles[0].device.type):
        for style, weight in zip(styles, blend):
            if tiling.needs_tiling(tuple(style.shape[-2:]), config.tile_size):
                grams = tiling.tiled_gram(model, style, config.style_layers, config.tile_size, config.tile_overlap)
            else:
                feats = model(style, config.style_layers)
                grams = {name: gram_per_position(feats[name]) for name in config.style_layers}
                del feats
            for name in config.style_layers:
                targets[name] = targets[name] + weight * grams[name]
    return targets


class _Objective:
    """Targets for one scale (or one tile of it) and the weighted loss of an image against them."""

    def __init__(self, model, config: StyleConfig, content: torch.Tensor, style_targets: dict):
        self.model = model
        self.config = config
        self.layer_weights = dict(zip(config.style_layers, config.layer_weights()))
        self.layers = list(dict.fromkeys(list(config.content_layers) + list(config.style_layers)))
        with torch.no_grad(), _autocast(config, content.device.type):
            feats = model(content, config.content_layers)
            self.content_targets = {k: v.detach() for k, v in feats.items()}
        self.style_targets = style_targets

    def __call__(self, image: torch.Tensor, content_factor: float = 1.0, factor: float = 1.0):
        """(total, content, style); tiles scale the content term and the rest by their share."""
        with _autocast(self.config, image.device.type):
            feats = self.model(image, self.layers)
        c_loss = sum(
            content_loss(feats[name], self.content_targets[name], self.config.content_reduction)
            for name in self.config.content_layers
        )
        s_loss = sum(
            self.layer_weights[name] * style_layer_loss(feats[name], self.style_targets[name])
            for name in self.config.style_layers
        )
        rest = self.config.style_weight * s_loss
        if self.config.tv_weight > 0:
            rest = rest + self.config.tv_weight * total_variation(image)
        total = (content_factor * self.config.content_weight) * c_loss + factor * rest
        return total, c_loss, s_loss


class _DeviceLBFGS:
    """:class:`ImageLBFGS`'s algorithm with every decision made by tensor operations.

    The CPU version reads numbers back (``float(...)``, ``if ys > ...``), which on a GPU
    would stall the queue several times a step; here nothing leaves the device, so the
    host can queue the next step while the GPU works. Same steps: the first is steepest
    descent scaled by 1/‖g‖₁, later ones the two-loop recursion with the last pair's
    s·y/y·y scaling, every step capped at ``max_step`` per pixel, a non-finite loss goes
    back to the last image and forgets the history. (A rejected pair keeps its slot with
    ρ = 0 instead of being dropped.)
    """

    def __init__(self, image: torch.Tensor, history_size: int = 20, max_step: float = 0.3):
        self.image = image
        self.history_size = history_size
        self.max_step = max_step
        self.history: list = []  # (s, y, rho) with rho = 0 for pairs that were refused
        self.previous = None  # (image, grad, usable) of the last step
        zero = torch.zeros((), device=image.device)
        self.gamma = zero + 1.0
        self.have_history = zero > 0

    def step(self, closure: Callable) -> torch.Tensor:
        loss, grad = closure()
        with torch.no_grad():
            finite = torch.isfinite(loss) & torch.isfinite(grad).all()
            grad = torch.where(finite, grad, torch.zeros_like(grad))
            if self.previous is not None:
                last_image, last_grad, usable = self.previous
                s = self.image - last_image
                y = grad - last_grad
                ys = (y * s).sum()
                yy = (y * y).sum()
                accept = finite & usable & (ys > 1e-10)
                rho = torch.where(accept, 1.0 / torch.where(accept, ys, torch.ones_like(ys)), torch.zeros_like(ys))
                if len(self.history) == self.history_size:
                    self.history.pop(0)
                self.history.append((s, y, rho))
                self.gamma = torch.where(accept, ys / yy.clamp_min(1e-30), self.gamma)
                self.have_history = self.have_history | accept
            # a non-finite evaluation forgets the curvature history (as ImageLBFGS does)
            self.history = [(s, y, rho * finite) for s, y, rho in self.history]
            self.have_history = self.have_history & finite
            q = grad.clone()
            alphas = []
            for s, y, rho in reversed(self.history):
                alpha = rho * (s * q).sum()
                q.sub_(y * alpha)
                alphas.append(alpha)
            q.mul_(self.gamma)
            for (s, y, rho), alpha in zip(self.history, reversed(alphas)):
                beta = rho * (y * q).sum()
                q.add_(s * (alpha - beta))
            steepest = grad * (1.0 / grad.abs().sum().clamp_min(1e-12)).clamp(max=1.0)
            direction = -torch.where(self.have_history, q, steepest)
            largest = direction.abs().max()
            direction.mul_((self.max_step / largest.clamp_min(1e-30)).clamp(max=1.0))
            before = self.image.detach().clone()
            back = self.previous[0] if self.previous is not None else before
            self.image.copy_(torch.where(finite, before + direction, back))
            self.previous = (before, grad, finite)
        return loss


class _LossReadout:
    """Loss values of each step for progress reports.

    On CUDA the three numbers are copied to pinned host memory without blocking and read
    one step later, so reporting never drains the GPU's queue; elsewhere they are read at once.
    """

    def __init__(self, device: str):
        self.lagged = device.startswith("cuda")
        self.pending: list = []

    def push(self, record: tuple, values: torch.Tensor) -> None:
        values = values.detach().float()
        if self.lagged:
            host = torch.empty(values.shape, dtype=torch.float32, pin_memory=True)
            host.copy_(values, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
            self.pending.append((record, host, event))
        else:
            self.pending.append((record, values, None))

    def ready(self, keep_last: bool) -> list:
        """Records whose values may be read now: all, or all but the newest one (CUDA)."""
        keep = 1 if (self.lagged and keep_last) else 0
        out = []
        while len(self.pending) > keep:
            record, host, event = self.pending.pop(0)
            if event is not None:
                event.synchronize()
            out.append((record, host.tolist()))
        return out


_COMPILED: dict = {}


def _prepare_model(model, config: StyleConfig, device: str):
    """CUDA knobs: cuDNN autotuning, and the compiled network when asked for (kept warm)."""
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    if not config.compile:
        return model
    compiled = _COMPILED.get(id(model))
    if compiled is None:
        _COMPILED.clear()
        compiled = _COMPILED[id(model)] = torch.compile(model)
    return compiled


def _resample_adam_state(optimizer: torch.optim.Adam, old: torch.Tensor, new: torch.Tensor) -> None:
    """Move Adam's moments onto the upsampled image so momentum survives a scale change."""
    state = optimizer.state.pop(old, None)
    optimizer.param_groups[0]["params"] = [new]
    if not state:
        return
    size = tuple(new.shape[-2:])
    state["exp_avg"] = images.resize(state["exp_avg"], size)
    state["exp_avg_sq"] = images.resize(state["exp_avg_sq"], size).clamp_min(0)
    optimizer.state[new] = state


def _initial_image(config: StyleConfig, content: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    if isinstance(config.init, str) and config.init == "content":
        return content.clone()
    if isinstance(config.init, str) and config.init == "noise":
        noise = torch.rand(content.shape, generator=generator, dtype=torch.float32)
        return noise.to(content.device)
    rgb, _ = images.to_float_image(config.init, "init image")
    return images.resize(images.to_tensor(rgb, content.device), tuple(content.shape[-2:]))


def _as_style_list(style: Any) -> list:
    if isinstance(style, (list, tuple)):
        if not style:
            raise BadImage("No style image was given: give at least one painting.")
        return list(style)
    return [style]


def _blend_weights(config: StyleConfig, count: int) -> list:
    raw = list(config.style_blend) if config.style_blend is not None else [1.0] * count
    if len(raw) != count:
        raise BadConfig(f"{len(raw)} style blend weights for {count} style images: give one weight per style.")
    total = sum(raw)
    return [w / total for w in raw]


def _is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text


def stylize(
    content: Any,
    style: Any,
    config: Optional[StyleConfig] = None,
    progress: ProgressCallback = None,
    cancel: CancelFlag = None,
) -> StyleResult:
    """Re-paint ``content`` in the style of ``style``; see docs/ENGINE_API.md.

    Raises :class:`Cancelled` within one step of ``cancel`` saying so, and
    :class:`NSTError` subclasses (with a plain one-line message) for anything the user
    can fix. Nothing passed in is modified.
    """
    config = config or StyleConfig()
    config.validate()
    device = available_device(config.device)
    try:
        return _run(content, style, config, device, progress, cancel)
    except Exception as exc:
        if _is_out_of_memory(exc):
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            raise OutOfMemory(
                f"The {device.upper()} ran out of memory at this size: choose a smaller working size"
                + (" or run on the CPU." if device != "cpu" else " or close other programs."),
                device,
            ) from None
        raise


def _run(content, style, config: StyleConfig, device: str, progress: ProgressCallback, cancel: CancelFlag) -> StyleResult:
    started = time.perf_counter()
    content_rgb, alpha = images.to_float_image(content, "content image")
    style_rgbs = [images.to_float_image(s, f"style image {i + 1}")[0] for i, s in enumerate(_as_style_list(style))]
    blend = _blend_weights(config, len(style_rgbs))

    if config.preserve_colors == "luminance":
        work_content = colors.grey_as_rgb(colors.luminance(content_rgb))
        style_rgbs = [colors.match_luminance(s, content_rgb) for s in style_rgbs]
    elif config.preserve_colors == "histogram":
        work_content = content_rgb
        style_rgbs = [colors.match_histogram(s, content_rgb) for s in style_rgbs]
    else:
        work_content = content_rgb

    seed = config.seed if config.seed is not None else secrets.randbits(31)
    generator = torch.Generator().manual_seed(int(seed))
    weights = load_weights(find_weights(config.weights, config.weights_source))
    layers = list(config.content_layers) + list(config.style_layers)
    model = build_features(weights, layers, device, config.pooling, config.pool_rescale,
                           config.first_padding, config.channels_last, config.fast_conv)
    model = _prepare_model(model, config, device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format

    height, width = work_content.shape[:2]
    long_side = int(config.size) if config.size else max(height, width)
    sizes = scale_sizes(height, width, long_side, int(config.scales), config.min_scale_size)
    steps_per_scale = _steps_per_scale(config, len(sizes))
    total_steps = sum(steps_per_scale)
    full_content = images.to_tensor(work_content, device)
    style_tensors = [images.to_tensor(s, device) for s in style_rgbs]

    image: Optional[torch.Tensor] = None
    average: Optional[torch.Tensor] = None
    optimizer: Any = None
    losses: list = []
    readout = _LossReadout(device)
    step = 0
    last_values = [float("nan")] * 3

    def report(scale_index: int, size: tuple, record_step: int, values: list, with_preview: bool) -> None:
        losses.append(values[0])
        last_values[:] = values
        if progress is None:
            return
        preview = None
        if with_preview:
            preview = images.to_numpy(average if average is not None else image)
        progress(Progress(record_step, total_steps, scale_index, len(sizes), tuple(size), values[0],
                          values[1], values[2], time.perf_counter() - started, preview))

    for scale_index, (size, scale_steps) in enumerate(zip(sizes, steps_per_scale), start=1):
        content_t = images.resize(full_content, size).contiguous(memory_format=memory_format)
        styles_t = []
        for style_t in style_tensors:
            style_size = images.fit_long_side(*style_t.shape[-2:], max(16, round(max(size) * config.style_scale)))
            styles_t.append(images.resize(style_t, style_size).contiguous(memory_format=memory_format))
        targets = _style_targets(model, config, styles_t, blend)
        del styles_t
        tiled = None
        objective = None
        if tiling.needs_tiling(size, config.tile_size):
            tiled = tiling.TiledObjective(lambda crop: _Objective(model, config, crop, targets), content_t,
                                          int(config.tile_size), int(config.tile_overlap), config.content_reduction)
        else:
            objective = _Objective(model, config, content_t, targets)
        del content_t

        if image is None:
            start = _initial_image(config, images.resize(full_content, size), generator)
        else:
            start = images.resize(image.detach(), size)
        new_image = start.contiguous(memory_format=memory_format).requires_grad_(True)
        if config.optimizer == "adam":
            if optimizer is None:
                optimizer = torch.optim.Adam([new_image], lr=config.learning_rate)
            else:
                _resample_adam_state(optimizer, image, new_image)
        else:
            history = 8 if tiled is not None else 20  # image-sized pairs: fewer when the image is huge
            optimizer = (ImageLBFGS if device == "cpu" else _DeviceLBFGS)(new_image, history_size=history)
        image = new_image
        if average is not None:
            average = images.resize(average, size)
        elif config.ema_decay > 0:
            average = image.detach().clone()

        terms = {}

        def evaluate():
            image.grad = None
            if tiled is not None:
                total, grad, c_loss, s_loss = tiled.evaluate(image)
                image.grad = grad
            else:
                total, c_loss, s_loss = objective(image)
                total.backward()
            terms["values"] = torch.stack([total.detach().float(), c_loss.detach().float(), s_loss.detach().float()])
            return terms["values"][0], image.grad

        for _ in range(scale_steps):
            if _cancel_requested(cancel):
                raise Cancelled()
            if config.optimizer == "adam":
                evaluate()
                optimizer.step()
                with torch.no_grad():
                    image.clamp_(0, 1)
            else:
                optimizer.step(evaluate)
            if average is not None:
                with torch.no_grad():
                    average.mul_(config.ema_decay).add_(image.detach(), alpha=1 - config.ema_decay)
            step += 1
            with_preview = bool(config.preview_every) and (step % config.preview_every == 0 or step == total_steps)
            readout.push((scale_index, size, step, with_preview), terms["values"])
            for (r_scale, r_size, r_step, r_preview), values in readout.ready(keep_last=not with_preview):
                report(r_scale, r_size, r_step, values, r_preview)
        for (r_scale, r_size, r_step, r_preview), values in readout.ready(keep_last=False):
            report(r_scale, r_size, r_step, values, r_preview)
        del objective, tiled
        if _cancel_requested(cancel):
            raise Cancelled()
    c_value, s_value = last_values[1], last_values[2]

    final = average if average is not None else image
    styled = images.to_numpy(final)
    if config.output_size == "working" and styled.shape[:2] != (height, width):
        height, width = styled.shape[:2]
        content_rgb = images.resize_array(content_rgb, (height, width))
        if alpha is not None:
            alpha = images.resize_array(colors.grey_as_rgb(alpha), (height, width))[..., 0]
    if styled.shape[:2] != (height, width):
        styled = images.resize_array(styled, (height, width))
    if config.preserve_colors == "luminance":
        styled = colors.recombine_luminance(styled, content_rgb)
    return StyleResult(
        image=images.from_float_image(styled, alpha),
        steps=step,
        seconds=time.perf_counter() - started,
        device=device,
        seed=int(seed),
        content_loss=c_value,
        style_loss=s_value,
        losses=losses,
    )
