"""The CUDA paths, on a real GPU (bash bench/gpu.sh runs these first); skipped without one.

No GPU has been lent to this project's CI, so these run only where ``torch.cuda`` sees a
device: CUDA against the CPU on the same objective, bf16 convolutions with float32 Grams
and losses, ``torch.compile``, L-BFGS, and the memory estimate against the measured peak.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nst_core import StyleConfig
from nst_core.engine import stylize

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def _run(content, style, **overrides):
    return stylize(content, style, StyleConfig.from_preset("balanced", seed=3, output_size="working", **overrides))


def test_cuda_fp32_matches_the_cpu(small_content, small_style):
    settings = dict(size=64, scales=1, steps=5, optimizer="adam", precision="fp32", fast_conv=False)
    cpu = _run(small_content, small_style, device="cpu", **settings)
    cuda = _run(small_content, small_style, device="cuda", **settings)
    assert cuda.device.startswith("cuda")
    assert np.abs(cpu.image - cuda.image).max() < 2e-2
    assert cuda.style_loss == pytest.approx(cpu.style_loss, rel=5e-2)


def test_bf16_keeps_grams_and_losses_in_float32(small_content, small_style):
    from nst_core.losses import gram_per_position

    features = torch.rand(1, 8, 6, 6, device="cuda", dtype=torch.bfloat16)
    assert gram_per_position(features).dtype == torch.float32
    fp32 = _run(small_content, small_style, device="cuda", size=96, scales=1, steps=20, precision="fp32")
    bf16 = _run(small_content, small_style, device="cuda", size=96, scales=1, steps=20, precision="bf16")
    assert np.isfinite(bf16.image).all() and np.isfinite(bf16.style_loss)
    assert bf16.style_loss == pytest.approx(fp32.style_loss, rel=0.25)


def test_compiled_network_gives_the_same_picture(small_content, small_style):
    settings = dict(device="cuda", size=64, scales=1, steps=5, optimizer="adam", precision="fp32")
    plain = _run(small_content, small_style, **settings)
    compiled = _run(small_content, small_style, compile=True, **settings)
    assert np.abs(plain.image - compiled.image).max() < 2e-2


def test_paper_lbfgs_on_cuda_paints_from_noise(content_path, style_path):
    first = []
    config = StyleConfig.from_preset("paper", size=128, steps=100, seed=0, device="cuda")
    result = stylize(str(content_path), str(style_path), config,
                     progress=lambda p: first.append(p.style_loss) if not first else None)
    assert result.style_loss * 10 <= first[0]


def test_memory_estimate_bounds_the_measured_peak(content_path, style_path):
    from PIL import Image

    from nst_core.memory import estimate

    config = StyleConfig.from_preset("balanced", device="cuda", steps=3, seed=0)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    stylize(str(content_path), str(style_path), config)
    peak = torch.cuda.max_memory_allocated()
    with Image.open(content_path) as content, Image.open(style_path) as style:
        hw, style_hw = content.size[::-1], style.size[::-1]
    bound = estimate(hw, [style_hw], config.size, "cuda", config.tile_size, config.style_scale, config.precision)
    assert peak <= bound, (peak, bound)
