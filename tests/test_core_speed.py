"""Measure, then choose (nst_core/speed.py): real timings of the real network, remembered, and obeyed."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nst_core import speed, stylize
from nst_core.config import StyleConfig
from nst_core.losses import gram_per_position


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    path = tmp_path / "speed.json"
    monkeypatch.setenv("NST_SPEED_CACHE", str(path))
    monkeypatch.setattr(speed, "_CHOSEN", {})
    return path


def test_every_candidate_is_timed_and_the_choice_is_remembered_per_machine(own_cache):
    timings = speed.timings()
    assert set(timings) == set(speed.candidates()) and "direct" in timings
    assert all(0 < seconds < 30 for seconds in timings.values())
    stored = json.loads(own_cache.read_text())
    assert stored == {speed.machine_key(): timings}
    speed._CHOSEN.clear()
    assert speed.timings() == timings  # read back, not measured again (a new measurement would differ)


def test_bf16_is_a_candidate_only_where_the_cpu_has_it():
    assert ("bf16" in speed.candidates()) == speed.native_bf16()


def test_a_damaged_cache_is_measured_again_without_a_word(own_cache):
    own_cache.write_text("{not json")
    assert "direct" in speed.timings()
    assert speed.machine_key() in json.loads(own_cache.read_text())


def test_the_fastest_path_is_chosen_and_pins_are_kept(own_cache):
    key = speed.machine_key()
    own_cache.write_text(json.dumps({key: {"direct": 0.3, "winograd": 0.2, "bf16": 0.1}}))
    assert speed.choose() == "bf16"
    assert speed.choose(precision="fp32") == "winograd"
    assert speed.choose(fast_conv=False, precision="fp32") == "direct"
    auto = speed.resolve(StyleConfig(), "cpu")
    assert (auto.precision, auto.fast_conv) == ("bf16", False)
    pinned = speed.resolve(StyleConfig(precision="fp32"), "cpu")
    assert (pinned.precision, pinned.fast_conv) == ("fp32", True)
    assert speed.resolve(StyleConfig(), "cuda").precision == "bf16"
    paper = speed.resolve(StyleConfig.from_preset("paper"), "cpu")
    assert paper.precision == "fp32"  # the paper preset stays fp32 everywhere


def test_grams_stay_float32_under_cpu_bf16_autocast():
    features = torch.randn(1, 8, 6, 5)
    with speed.autocast("bf16", "cpu"):
        low = torch.nn.functional.conv2d(features, torch.randn(8, 8, 3, 3), padding=1)
    assert low.dtype == torch.bfloat16
    assert gram_per_position(low).dtype == torch.float32


@pytest.mark.skipif(not speed.native_bf16(), reason="this CPU has no native bf16")
def test_bf16_features_give_the_fp32_losses_of_one_image(caffe_model_inputs):
    model, image, target = caffe_model_inputs
    losses = {}
    for precision in ("fp32", "bf16"):
        with speed.autocast(precision, "cpu"):
            feats = model(image, ["relu1_1", "relu3_1", "relu5_1"])
        losses[precision] = [float(gram_per_position(f).sub(gram_per_position(t)).square().sum())
                             for f, t in zip(feats.values(), target.values())]
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.03)


@pytest.fixture
def caffe_model_inputs(small_content, small_style):
    from nst_core.images import to_tensor
    from nst_core.vgg import build_features
    from nst_core.weights import find_weights, load_weights

    model = build_features(load_weights(find_weights(None, "auto")), ["relu5_1"], "cpu")
    with torch.no_grad():
        target = model(to_tensor(small_style.astype(np.float32) / 255), ["relu1_1", "relu3_1", "relu5_1"])
    return model, to_tensor(small_content.astype(np.float32) / 255), target


@pytest.mark.skipif(not speed.native_bf16(), reason="this CPU has no native bf16")
def test_a_bf16_run_paints_as_well_as_an_fp32_run(small_content, small_style):
    runs = {}
    for precision in ("fp32", "bf16"):
        config = StyleConfig(size=96, scales=1, steps=30, seed=3, precision=precision, fast_conv=False)
        runs[precision] = stylize(small_content, small_style, config)
    fp32, bf16 = runs["fp32"], runs["bf16"]
    # two optimisations drift apart step by step, so: as far along, not the same numbers
    assert bf16.style_loss <= 1.25 * fp32.style_loss and bf16.content_loss <= 1.25 * fp32.content_loss
    difference = np.abs(bf16.image.astype(float) - fp32.image.astype(float)).mean()
    assert difference < 12  # the same picture (0–255), not merely the same losses
