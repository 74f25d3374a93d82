"""Tiling of large images and the engine's speed paths, on small images forced to tile."""
import numpy as np
import pytest
import torch
from PIL import Image

import nst_core.engine as engine
from nst_core import StyleConfig, stylize, tiling
from nst_core import schedule
from nst_core.losses import gram_per_position
from nst_core.vgg import VGGFeatures, build_features, winograd_available
from nst_core.weights import find_weights, load_weights

TILE, OVERLAP = 96, 32


@pytest.fixture(scope="module")
def caffe():
    return load_weights(find_weights())


@pytest.fixture(scope="module")
def content_192(content_path):
    return np.asarray(Image.open(content_path).convert("RGB").resize((192, 128), Image.LANCZOS))


@pytest.fixture(scope="module")
def style_192(style_path):
    return np.asarray(Image.open(style_path).convert("RGB").resize((192, 120), Image.LANCZOS))


def _tiled_config(**overrides):
    settings = dict(size=192, steps=8, scales=1, seed=0, tile_size=TILE, tile_overlap=OVERLAP)
    settings.update(overrides)
    return StyleConfig.from_preset("balanced", **settings)


@pytest.fixture(scope="module")
def tiled_run(content_192, style_192):
    """One tiled run shared by the tests below, recording every image size the network saw."""
    seen = []
    original = engine.build_features

    class Recorder(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, image, layers):
            seen.append(tuple(image.shape[-2:]))
            return self.model(image, layers)

    engine.build_features = lambda *a, **k: Recorder(original(*a, **k))
    try:
        result = stylize(content_192, style_192, _tiled_config())
    finally:
        engine.build_features = original
    return result, seen


# ---------------------------------------------------------------- tile layout


@pytest.mark.parametrize("length, tile, overlap", [(192, 96, 32), (128, 96, 32), (4096, 1024, 128),
                                                   (1040, 1024, 128), (300, 96, 32), (2896, 1024, 128)])
def test_spans_cover_on_the_grid_and_overlap(length, tile, overlap):
    spans = tiling.spans(length, tile, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(start % tiling.ALIGN == 0 for start, _ in spans)
    assert all(end - start <= tile + tiling.ALIGN - 1 for start, end in spans)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert a1 - b0 >= overlap - (tiling.ALIGN - 1)


def test_a_length_that_fits_is_one_tile_and_one_just_over_gets_two_small_ones():
    assert tiling.spans(1000, 1024, 128) == [(0, 1000)]
    assert not tiling.needs_tiling((1000, 700), 1024) and tiling.needs_tiling((1040, 700), 1024)
    assert not tiling.needs_tiling((5000, 5000), 0)
    assert max(end - start for start, end in tiling.spans(1040, 1024, 128)) < 700


def test_feathered_weights_are_positive_and_sum_to_one():
    tiles = tiling.plan(200, 300, TILE, OVERLAP)
    total = torch.zeros(200, 300)
    for tile in tiles:
        assert (tile.weight > 0).all()
        total[tile.rows, tile.cols] += tile.weight[0, 0]
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5)


def test_tiled_gram_is_the_whole_images_gram(caffe, style_192):
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    model = VGGFeatures(caffe, "relu5_1", "avg", True, "replicate")
    image = torch.from_numpy(style_192.copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        feats = model(image, layers)
        whole = {name: gram_per_position(feats[name]) for name in layers}
        tiled = tiling.tiled_gram(model, image, layers, tile=128, halo=32)
    for name in layers[:4]:  # receptive fields within the halo: the same numbers
        assert torch.allclose(tiled[name], whole[name], rtol=1e-4, atol=1e-3 * whole[name].abs().max())
    assert (tiled["relu5_1"] - whole["relu5_1"]).norm() < 0.1 * whole["relu5_1"].norm()


# ---------------------------------------------------------------- a run forced to tile


def test_tiled_run_styles_the_whole_image(tiled_run, content_192):
    result, _ = tiled_run
    assert result.image.shape == content_192.shape
    assert result.losses[-1] < 0.7 * result.losses[0]
    change = np.abs(result.image - content_192 / 255.0).mean(axis=2)
    for tile in tiling.plan(128, 192, TILE, OVERLAP):
        assert change[tile.rows, tile.cols].mean() > 0.02  # every tile was re-painted


def test_no_seams_at_tile_borders(tiled_run):
    """Pixel steps across every tile edge are like the steps anywhere else in the image."""
    image = tiled_run[0].image

    def edge_ratio(img):
        ratios = []
        for axis, length in ((1, img.shape[1]), (0, img.shape[0])):
            steps = np.abs(np.diff(img, axis=axis)).mean(axis=(1 - axis, 2))  # per column (or row) boundary
            edges = set()
            for start, end in tiling.spans(length, TILE, OVERLAP):
                if start > 0:
                    edges.add(start - 1)  # between pixel start-1 and start
                if end < length:
                    edges.add(end - 1)
            ratios.extend(steps[sorted(edges)] / np.median(steps))
        return max(ratios)

    print("worst tile edge / median step:", edge_ratio(image))
    assert edge_ratio(image) < 1.4
    # the check would see a seam: a 0.08 jump along one tile edge
    broken = image.copy()
    broken[:, 48:] = np.clip(broken[:, 48:] + 0.08, 0, 1)
    assert edge_ratio(broken) > 1.4


def test_seam_regions_look_like_the_interior(tiled_run):
    """Local contrast (gradient magnitude) in the overlaps matches the rest of the image."""
    image = tiled_run[0].image.mean(axis=2)
    gx = np.abs(np.diff(image, axis=1))[:-1, :]
    gy = np.abs(np.diff(image, axis=0))[:, :-1]
    magnitude = np.hypot(gx, gy)
    overlap = np.zeros(magnitude.shape, bool)
    for axis, length in ((1, 192), (0, 128)):
        spans = tiling.spans(length, TILE, OVERLAP)
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            if axis == 1:
                overlap[:, b0:a1 - 1] = True
            else:
                overlap[b0:a1 - 1, :] = True
    ratio = magnitude[overlap].mean() / magnitude[~overlap].mean()
    assert 0.7 < ratio < 1.4


def test_memory_is_bounded_by_the_tile_not_the_image(tiled_run):
    _, seen = tiled_run
    largest = max(max(size) for size in seen)
    assert largest <= TILE + tiling.ALIGN - 1  # the network never saw more than a tile
    assert max(h * w for h, w in seen) < 192 * 128 / 2


def test_tiling_is_automatic_above_the_tile_size_only(small_content, small_style, monkeypatch):
    calls = []
    original = tiling.TiledObjective

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(tiling, "TiledObjective", spy)
    stylize(small_content, small_style, StyleConfig.from_preset("fast", size=96, steps=1, scales=1))
    assert not calls
    stylize(small_content, small_style, StyleConfig.from_preset("fast", size=96, steps=1, scales=1, tile_size=64,
                                                                tile_overlap=16))
    assert calls


# ---------------------------------------------------------------- speed paths


def test_coarse_scales_get_most_steps(small_content, small_style):
    config = StyleConfig.from_preset("fast", size=96, scales=3, steps=8, step_ratio=0.5, min_scale_size=32)
    assert [level.steps for level in schedule.levels((64, 96), config)] == [8, 4, 2]
    reports = []
    stylize(small_content, small_style, config, progress=reports.append)
    per_scale = [sum(1 for r in reports if r.scale == s) for s in (1, 2, 3)]
    assert per_scale == [8, 4, 2] and reports[-1].total == 14
    balanced = StyleConfig.from_preset("balanced")
    steps = [level.steps for level in schedule.levels((683, 1024), balanced)]
    assert steps[0] > steps[-1] and steps[-1] >= 1


@pytest.mark.skipif(not winograd_available(), reason="NNPACK is not available in this torch build")
def test_winograd_convolutions_match_direct_ones(caffe):
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
    direct = VGGFeatures(caffe, "relu5_1", "max", False, "replicate")
    fast = VGGFeatures(caffe, "relu5_1", "max", False, "replicate", winograd=True)
    x = torch.rand(1, 3, 112, 144, generator=torch.Generator().manual_seed(0))
    grads = []
    for model in (direct, fast):
        image = x.clone().requires_grad_(True)
        feats = model(image, layers)
        sum((f * f).mean() for f in feats.values()).backward()
        grads.append((feats, image.grad))
    for name in layers:
        a, b = grads[0][0][name], grads[1][0][name]
        assert (a - b).norm() <= 1e-3 * a.norm(), name
    assert (grads[0][1] - grads[1][1]).norm() <= 1e-2 * grads[0][1].norm()


def test_fast_conv_is_used_on_the_cpu_and_can_be_switched_off(caffe):
    fast = build_features(caffe, ["relu4_2"], "cpu", fast_conv=True)
    plain = build_features(caffe, ["relu4_2"], "cpu", fast_conv=False)
    has_winograd = any(type(layer).__name__ == "WinogradConv" for layer in fast.layers)
    assert has_winograd == winograd_available()
    assert not any(type(layer).__name__ == "WinogradConv" for layer in plain.layers)


def test_losses_are_read_at_once_on_the_cpu():
    readout = engine._LossReadout("cpu")
    readout.push(("a",), torch.tensor([3.0, 1.0, 2.0]))
    assert readout.ready(keep_last=True) == [(("a",), [3.0, 1.0, 2.0])]
