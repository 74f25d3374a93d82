"""The optimisation loop: the heart of Gatys et al.'s method.

An image x is optimised so that its VGG19 features match the content's and its Gram
matrices match the style's. Coarse-to-fine: the run starts at a small size, where steps
are cheap and large-scale structure forms, then upsamples x by √2 at a time and refines;
Adam's moments are resampled to the new size so the optimiser keeps its momentum, while
L-BFGS (whose history cannot be resized) restarts.
"""
from __future__ import annotations

import math
import secrets
import time
from contextlib import nullcontext
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import torch

from . import colors, images
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


class _Objective:
    """Targets for one scale and the weighted loss of an image against them."""

    def __init__(self, model, config: StyleConfig, content: torch.Tensor, styles: list, blend: list):
        self.model = model
        self.config = config
        self.layer_weights = dict(zip(config.style_layers, config.layer_weights()))
        self.layers = list(dict.fromkeys(list(config.content_layers) + list(config.style_layers)))
        with torch.no_grad(), self._autocast(content.device.type):
            feats = model(content, config.content_layers)
            self.content_targets = {k: v.detach() for k, v in feats.items()}
            self.style_targets = {name: 0 for name in config.style_layers}
            for style, weight in zip(styles, blend):
                style_feats = model(style, config.style_layers)
                for name in config.style_layers:
                    self.style_targets[name] = self.style_targets[name] + weight * gram_per_position(style_feats[name])

    def _autocast(self, device_type: str):
        if self.config.precision == "bf16" and device_type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def __call__(self, image: torch.Tensor):
        with self._autocast(image.device.type):
            feats = self.model(image, self.layers)
        c_loss = sum(
            content_loss(feats[name], self.content_targets[name], self.config.content_reduction)
            for name in self.config.content_layers
        )
        s_loss = sum(
            self.layer_weights[name] * style_layer_loss(feats[name], self.style_targets[name])
            for name in self.config.style_layers
        )
        total = self.config.content_weight * c_loss + self.config.style_weight * s_loss
        if self.config.tv_weight > 0:
            total = total + self.config.tv_weight * total_variation(image)
        return total, c_loss, s_loss


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
                           config.first_padding, config.channels_last)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format

    height, width = work_content.shape[:2]
    long_side = int(config.size) if config.size else max(height, width)
    sizes = scale_sizes(height, width, long_side, int(config.scales), config.min_scale_size)
    total_steps = int(config.steps) * len(sizes)
    full_content = images.to_tensor(work_content, device)
    style_tensors = [images.to_tensor(s, device) for s in style_rgbs]

    image: Optional[torch.Tensor] = None
    average: Optional[torch.Tensor] = None
    optimizer: Any = None
    losses: list = []
    step = 0
    c_value = s_value = float("nan")
    for scale_index, size in enumerate(sizes, start=1):
        content_t = images.resize(full_content, size).contiguous(memory_format=memory_format)
        styles_t = []
        for style_t in style_tensors:
            style_size = images.fit_long_side(*style_t.shape[-2:], max(16, round(max(size) * config.style_scale)))
            styles_t.append(images.resize(style_t, style_size).contiguous(memory_format=memory_format))
        objective = _Objective(model, config, content_t, styles_t, blend)
        del styles_t

        if image is None:
            start = _initial_image(config, content_t, generator)
        else:
            start = images.resize(image.detach(), size)
        new_image = start.contiguous(memory_format=memory_format).requires_grad_(True)
        if config.optimizer == "adam":
            if optimizer is None:
                optimizer = torch.optim.Adam([new_image], lr=config.learning_rate)
            else:
                _resample_adam_state(optimizer, image, new_image)
        else:
            optimizer = ImageLBFGS(new_image)
        image = new_image
        if average is not None:
            average = images.resize(average, size)
        elif config.ema_decay > 0:
            average = image.detach().clone()

        terms = {}

        def evaluate():
            image.grad = None
            total, c_loss, s_loss = objective(image)
            total.backward()
            terms["total"], terms["content"], terms["style"] = total.detach(), c_loss.detach(), s_loss.detach()
            return terms["total"], image.grad

        for _ in range(int(config.steps)):
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
            total_value = float(terms["total"])
            c_value, s_value = float(terms["content"]), float(terms["style"])
            losses.append(total_value)
            if progress is not None:
                preview = None
                if config.preview_every and (step % config.preview_every == 0 or step == total_steps):
                    preview = images.to_numpy(average if average is not None else image)
                progress(Progress(step, total_steps, scale_index, len(sizes), tuple(size), total_value,
                                  c_value, s_value, time.perf_counter() - started, preview))
        if _cancel_requested(cancel):
            raise Cancelled()

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
