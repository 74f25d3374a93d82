"""Different paintings in different regions (issue 11), on real weights, real photos and real paintings.

The acceptance runs are small (the coffee photo at 96×64, a dozen steps) so the file stays
within a minute on the 2-core CI machine; every judgement uses bench/judge.py's paper
network and palette distance, not the engine's own loss.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.judge import Judge, palette_distance
from nst_core import BadConfig, BadImage, PRESETS, StyleConfig, stylize
from nst_core import regions
from nst_core.losses import gram_per_position

ROOT = Path(__file__).resolve().parents[1]
H, W = 64, 96


def config(**overrides) -> StyleConfig:
    preset = overrides.pop("preset", "fast")
    settings = dict(size=W, steps=10, scales=1, seed=0)
    settings.update(overrides)
    return StyleConfig.from_preset(preset, **settings)


@pytest.fixture(scope="module")
def paintings(style_path, second_style_path):
    """Starry Night and Matisse's Woman with a Hat, small, as uint8 RGB."""
    return [np.asarray(Image.open(p).convert("RGB").resize((W, 60), Image.LANCZOS))
            for p in (style_path, second_style_path)]


@pytest.fixture(scope="module")
def left():
    mask = np.zeros((H, W), np.float32)
    mask[:, : W // 2] = 1.0
    return mask


def own_vs_other(output, content, own, other):
    """(Gram ratio, palette ratio): the judged loss against its own painting / against the other."""
    quantised = np.round(np.clip(output, 0, 1) * 255).astype(np.uint8)
    gram = Judge(content, own)(quantised)[1] / Judge(content, other)(quantised)[1]
    palette = palette_distance(quantised, own) / palette_distance(quantised, other)
    return gram, palette


def halves(image):
    return image[:, : W // 2], image[:, W // 2:]


@pytest.fixture(scope="module")
def two_halves(small_content, paintings, left):
    return stylize(small_content, paintings, config(), masks=[left, 1 - left]).image


def test_each_half_takes_its_own_painting(two_halves, small_content, paintings):
    """Issue 11's measure: each half's judged style loss (Gram and palette) ≥ 30 % lower
    against its own painting than against the other one."""
    starry, matisse = paintings
    (out_l, out_r), (c_l, c_r) = halves(two_halves), halves(small_content)
    for output, content, own, other in ((out_l, c_l, starry, matisse), (out_r, c_r, matisse, starry)):
        gram, palette = own_vs_other(output, content, own, other)
        assert gram <= 0.7, gram
        assert palette <= 0.7, palette


def test_swapping_the_masks_swaps_the_paintings(two_halves, small_content, paintings, left):
    """The region decides the painting, not the order of the styles: the right half given
    Starry Night instead is judged closer to Starry Night."""
    swapped = stylize(small_content, paintings, config(), masks=[1 - left, left]).image
    starry, matisse = paintings
    right, content = halves(swapped)[1], halves(small_content)[1]
    gram, palette = own_vs_other(right, content, starry, matisse)
    assert gram <= 0.7 and palette <= 0.7
    assert not np.allclose(swapped, two_halves)


def test_soft_mask_blends_without_a_step_or_halo(small_content, paintings):
    """A ramp mask across the middle third. Measured on what the style changed (output − photo,
    averaged over rows in 8-px bands, in the colour channel where the two paintings' results
    differ most): no step between bands larger than what the two styles differ by, and no
    band in the transition beyond either side's look (a halo)."""
    ramp = np.clip((np.arange(W) - W / 3) / (W / 3), 0, 1)[None, :].repeat(H, 0).astype(np.float32)
    soft = stylize(small_content, paintings, config(steps=10), masks=[1 - ramp, ramp]).image
    band = 8
    shift = (soft - small_content / 255.0).mean(axis=0).reshape(-1, band, 3).mean(axis=1)  # bands × RGB
    sides = shift[:2].mean(0), shift[-2:].mean(0)
    channel = int(np.argmax(np.abs(sides[0] - sides[1])))
    profile, low, high = shift[:, channel], sides[0][channel], sides[1][channel]
    differ = abs(high - low)
    assert differ > 0.05  # the two paintings really give different looks
    assert np.abs(np.diff(profile)).max() < differ
    lo, hi = min(low, high) - 0.5 * differ, max(low, high) + 0.5 * differ
    assert lo <= profile.min() and profile.max() <= hi, (profile, low, high)


def test_no_masks_is_exactly_the_unmasked_engine(small_content, paintings):
    cfg = config(steps=3, seed=7)
    plain = stylize(small_content, paintings, cfg).image
    for masks, style_masks in ((None, None), ([None, None], None), (None, ["-", None]), ([None, "-"], [None, None])):
        again = stylize(small_content, paintings, cfg, masks=masks, style_masks=style_masks).image
        assert np.array_equal(plain, again), (masks, style_masks)


def test_uncovered_pixels_keep_the_photo_and_an_unmasked_style_paints_the_rest(small_content, paintings, left):
    """Every style masked: what no mask covers keeps the photo's look. A style given no mask
    paints that rest instead."""
    photo = small_content / 255.0
    only_left = stylize(small_content, paintings[:1], config(), masks=[left]).image
    rest_default = stylize(small_content, paintings, config(), masks=[left, None]).image
    kept = np.abs(halves(only_left)[1] - halves(photo)[1]).mean()
    styled = np.abs(halves(only_left)[0] - halves(photo)[0]).mean()
    assert kept < 0.5 * styled
    starry, matisse = paintings
    right = halves(rest_default)[1]
    gram, palette = own_vs_other(right, halves(small_content)[1], matisse, starry)
    assert gram <= 0.7 and palette <= 0.7


def test_a_painting_mask_learns_from_that_part_of_the_painting(small_content, paintings):
    """A painting made of Starry Night (left) and Matisse (right), masked to its right half:
    the result is judged closer to Matisse than to Starry Night, and unmasked it is not."""
    starry, matisse = paintings
    collage = np.concatenate([starry, matisse], axis=1)
    right = np.zeros(collage.shape[:2], np.float32)
    right[:, W:] = 1.0
    masked = stylize(small_content, [collage], config(), style_masks=[right]).image
    assert palette_distance(masked, matisse) < 0.7 * palette_distance(masked, starry)
    whole = stylize(small_content, [collage], config()).image
    assert palette_distance(masked, matisse) < palette_distance(whole, matisse)


def test_tiled_scales_crop_the_masks_with_the_tiles(small_content, paintings, left):
    """Tiles of 64 px over the 96 px image: each tile reads its own part of the masks."""
    tiled = stylize(small_content, paintings, config(tile_size=64, tile_overlap=16), masks=[left, 1 - left]).image
    starry, matisse = paintings
    (out_l, out_r), (c_l, c_r) = halves(tiled), halves(small_content)
    assert own_vs_other(out_l, c_l, starry, matisse)[1] <= 0.7
    assert own_vs_other(out_r, c_r, matisse, starry)[1] <= 0.7


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("colours", [None, "luminance", "histogram"])
def test_every_preset_and_colour_mode_runs_with_masks_and_coarse_to_fine(small_content, paintings, left, preset, colours):
    if colours is not None and preset != "fast":
        pytest.skip("colour modes are checked once, on fast")
    cfg = StyleConfig.from_preset(preset, size=W, steps=1, scales=2, min_scale_size=32, seed=0, preserve_colors=colours)
    masked = stylize(small_content, paintings, cfg, masks=[left, 1 - left])
    assert masked.image.shape == small_content.shape and np.isfinite(masked.image).all()
    assert masked.steps == 2


# ---------------------------------------------------------------- the region maths on the real network
@pytest.fixture(scope="module")
def network():
    from nst_core.vgg import build_features
    from nst_core.weights import find_weights, load_weights

    return build_features(load_weights(find_weights()), ["relu5_1"], "cpu")


def test_masks_reach_every_layer_at_its_features_size(network):
    """An odd-sized image: the propagated mask has exactly each style layer's feature size."""
    layers = list(StyleConfig().style_layers)
    image = torch.rand(1, 3, 37, 53)
    feats = network(image, layers)
    masks = regions.propagate(torch.ones(2, 1, 37, 53), layers)
    for name in layers:
        assert masks[name].shape[-2:] == feats[name].shape[-2:], name
        assert masks[name].shape[0] == 2


def test_a_white_mask_is_the_unmasked_gram_and_loss(network):
    layers = list(StyleConfig().style_layers)
    torch.manual_seed(0)
    image, style = torch.rand(1, 3, 48, 64), torch.rand(1, 3, 40, 56)
    feats = network(image, layers)
    style_feats = network(style, layers)
    grams = {n: gram_per_position(style_feats[n]) for n in layers}
    for name in layers:
        white = torch.ones(1, 1, *feats[name].shape[-2:])
        assert torch.allclose(regions.guided_gram(feats[name], white), gram_per_position(feats[name]), rtol=1e-5, atol=1e-6)
    from nst_core.losses import style_layer_loss

    weights = dict(zip(layers, StyleConfig().layer_weights()))
    targets = regions.RegionTargets([grams], [None], None, torch.ones(1, 1, 48, 64))
    masked = targets.crop().style(feats, weights)
    plain = sum(weights[n] * style_layer_loss(feats[n], grams[n]) for n in layers)
    assert torch.allclose(masked, plain, rtol=1e-5)
    # half the image under the mask: the loss only sees that half's statistics
    half = torch.zeros(1, 1, 48, 64)
    half[..., :32] = 1
    half_loss = regions.RegionTargets([grams], [None], None, half).crop().style(feats, weights)
    assert not torch.allclose(half_loss, plain)


def test_masked_palette_matches_each_region_to_its_own_palette():
    """Left half red, right half blue, painting palettes the other way round: the loss is
    large; with the masks swapped to where the colours are it is near zero."""
    image = torch.zeros(1, 3, 16, 32)
    image[0, 0, :, :16] = 1.0  # red left
    image[0, 2, :, 16:] = 1.0  # blue right
    directions = regions.palette_directions(32)
    red = torch.tensor([[1.0, 0, 0]]).repeat(50, 1)
    blue = torch.tensor([[0, 0, 1.0]]).repeat(50, 1)
    ones = torch.ones(50)
    tables = [regions.weighted_quantiles(red, ones, directions), regions.weighted_quantiles(blue, ones, directions)]
    left = torch.zeros(1, 1, 16, 32)
    left[..., :16] = 1
    masks = torch.cat([left, 1 - left])
    right_way = regions.masked_palette_loss(image, masks, tables, [1, 1], directions)
    wrong_way = regions.masked_palette_loss(image, masks.flip(0), tables, [1, 1], directions)
    assert float(right_way) < 1e-6 < 0.1 < float(wrong_way)


# ---------------------------------------------------------------- bad input, one plain sentence
def test_bad_masks_are_refused_in_one_sentence(small_content, paintings, left, tmp_path):
    cfg = config(steps=1)
    with pytest.raises(BadConfig, match="3 masks for 2 style images"):
        stylize(small_content, paintings, cfg, masks=[left, left, left])
    with pytest.raises(BadImage, match="black everywhere"):
        stylize(small_content, paintings, cfg, masks=[np.zeros((H, W)), left])
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    with pytest.raises(BadImage, match="mask 1 .*could not be read"):
        stylize(small_content, paintings, cfg, masks=[str(broken), None])
    with pytest.raises(BadImage, match="painting mask 2 .*does not exist"):
        stylize(small_content, paintings, cfg, style_masks=[None, str(tmp_path / "missing.png")])


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "nst_core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_cli_two_paintings_with_masks_and_one_line_errors(content_path, style_path, second_style_path, tmp_path):
    mask = tmp_path / "left.png"
    image = np.zeros((60, 80), np.uint8)
    image[:, :40] = 255
    Image.fromarray(image).save(mask)
    out = tmp_path / "out.png"
    done = run_cli(content_path, style_path, second_style_path, "-o", out, "--style-masks", mask, "-",
                   "--size", 64, "--steps", 2, "--scales", 1, "--quiet", "--seed", 1)
    assert done.returncode == 0, done.stderr
    assert Image.open(out).size[0] == 64
    for extra, expected in ((["--style-masks", mask], "1 style mask for 2 style images"),
                            (["--style-masks", tmp_path / "nope.png", "-"], "style mask 1 '.*nope.png' does not exist"),
                            (["--painting-masks", "-", out.with_suffix(".txt")], "painting mask 2")):
        if str(extra[-1]).endswith(".txt"):
            Path(extra[-1]).write_text("not an image")
        failed = run_cli(content_path, style_path, second_style_path, "-o", tmp_path / "x.png", *extra)
        lines = failed.stderr.strip().splitlines()
        assert failed.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: "), failed.stderr
        import re

        assert re.search(expected, lines[0]), lines[0]
