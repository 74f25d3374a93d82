"""stylize() end to end on real weights and real images, at small sizes."""
import threading

import numpy as np
import pytest

from nst_core import PRESETS, BadConfig, BadImage, Cancelled, StyleConfig, available_device, stylize
from nst_core.colors import rgb_to_yiq


def tiny(preset: str = "fast", **overrides) -> StyleConfig:
    settings = dict(size=64, steps=6, scales=1, seed=0)
    settings.update(overrides)
    return StyleConfig.from_preset(preset, **settings)


def test_loss_decreases_and_result_keeps_size(small_content, small_style):
    result = stylize(small_content, small_style, tiny(steps=15))
    assert result.image.shape == small_content.shape and result.image.dtype == np.float32
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert result.steps == 15 and result.device == "cpu"


def test_image_moves_towards_the_style(small_content, small_style):
    result = stylize(small_content, small_style, tiny(steps=15))
    changed = np.abs(result.image - small_content / 255.0).mean()
    assert changed > 0.02  # it was re-painted, not returned as is


def test_adam_also_lowers_the_loss_and_clamps(small_content, small_style):
    result = stylize(small_content, small_style, tiny(optimizer="adam", steps=15, learning_rate=0.05, ema_decay=0.5))
    assert result.losses[-1] < result.losses[0]
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0


def test_same_seed_gives_identical_output(small_content, small_style):
    config = tiny("paper", size=64, steps=4, seed=123)
    first = stylize(small_content, small_style, config)
    second = stylize(small_content, small_style, config)
    assert np.array_equal(first.image, second.image)
    other = stylize(small_content, small_style, tiny("paper", size=64, steps=4, seed=124))
    assert not np.array_equal(first.image, other.image)


def test_noise_content_and_file_inits_differ(small_content, small_style, content_path):
    outputs = [stylize(small_content, small_style, tiny(steps=1, init=init)).image
               for init in ("noise", "content", str(content_path))]
    assert not np.array_equal(outputs[0], outputs[1])
    # the file is the same photo at full size, so starting from it is close to a content start
    assert np.abs(outputs[2] - outputs[1]).mean() < np.abs(outputs[0] - outputs[1]).mean()


def test_total_variation_smooths(small_content, small_style):
    def roughness(image):
        return np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean()

    plain = stylize(small_content, small_style, tiny(steps=10))
    smooth = stylize(small_content, small_style, tiny(steps=10, tv_weight=1e9))
    assert roughness(smooth.image) < roughness(plain.image)


@pytest.mark.parametrize("name, ratio", [("paper", 1e-3), ("paper-1e-4", 1e-4)])
def test_paper_presets_are_the_papers_method(name, ratio):
    paper = PRESETS[name]
    assert tuple(paper.style_layers) == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert tuple(paper.content_layers) == ("relu4_2",)
    assert paper.layer_weights() == pytest.approx([0.2] * 5)
    assert paper.content_weight / paper.style_weight == pytest.approx(ratio)
    assert (paper.init, paper.pooling, paper.pool_rescale, paper.first_padding) == ("noise", "avg", False, "zeros")
    assert (paper.content_reduction, paper.style_reduction) == ("mean", "per-filter")  # config.PAPER_LOSSES
    assert (paper.scales, paper.tv_weight, paper.palette_weight) == (1, 0.0, 0.0)
    assert paper.normalise and paper.optimizer == "lbfgs"


def test_artist_presets_exist_and_validate():
    from nst_core.config import DEFAULT_PRESET, PRESET_HINTS

    assert StyleConfig() == PRESETS[DEFAULT_PRESET] == StyleConfig.from_preset()
    assert set(PRESET_HINTS) == set(PRESETS) and all(PRESET_HINTS.values())
    for name in ("fast", "balanced", "quality"):
        config = StyleConfig.from_preset(name)
        assert config.init == "recoloured" and config.scales >= 2 and config.normalise
    assert PRESETS["fast"].steps * PRESETS["fast"].scales < PRESETS["quality"].steps * PRESETS["quality"].scales


def test_several_styles_blend(small_content, small_style, second_style_path):
    only_first = stylize(small_content, small_style, tiny(steps=5))
    blended_all_first = stylize(small_content, [small_style, second_style_path], tiny(steps=5, style_blend=[1, 0]))
    assert np.allclose(only_first.image, blended_all_first.image, atol=1e-5)
    half = stylize(small_content, [small_style, second_style_path], tiny(steps=5, style_blend=[1, 1]))
    assert not np.allclose(only_first.image, half.image, atol=1e-3)
    with pytest.raises(BadConfig, match="one weight per style"):
        stylize(small_content, [small_style, second_style_path], tiny(style_blend=[1]))


def test_style_scale_changes_the_result(small_content, small_style):
    normal = stylize(small_content, small_style, tiny(steps=5))
    larger = stylize(small_content, small_style, tiny(steps=5, style_scale=2.0))
    assert not np.allclose(normal.image, larger.image, atol=1e-3)


def _chroma_error(image, content):
    return np.abs(rgb_to_yiq(image)[..., 1:] - rgb_to_yiq(content)[..., 1:]).mean()


def test_luminance_transfer_keeps_the_contents_colours(small_content, small_style):
    content = small_content / 255.0
    plain = stylize(small_content, small_style, tiny(steps=10))
    kept = stylize(small_content, small_style, tiny(steps=10, preserve_colors="luminance"))
    # chroma is copied from the content (up to clipping into the RGB cube)
    assert _chroma_error(kept.image, content) < 0.01
    assert _chroma_error(kept.image, content) < 0.25 * _chroma_error(plain.image, content)
    # while the luminance was re-painted
    assert np.abs(rgb_to_yiq(kept.image)[..., 0] - rgb_to_yiq(content.astype(np.float32))[..., 0]).mean() > 0.02


def test_histogram_matching_keeps_the_contents_palette(small_content, small_style):
    content = small_content / 255.0
    plain = stylize(small_content, small_style, tiny(steps=10))
    kept = stylize(small_content, small_style, tiny(steps=10, preserve_colors="histogram"))

    def mean_colour_distance(image):
        return np.abs(image.reshape(-1, 3).mean(0) - content.reshape(-1, 3).mean(0)).sum()

    assert mean_colour_distance(kept.image) < 0.5 * mean_colour_distance(plain.image)


def test_coarse_to_fine_runs_each_scale(small_content, small_style):
    reports = []
    result = stylize(small_content, small_style, tiny(size=96, scales=3, steps=3, min_scale_size=32, step_ratio=1.0), progress=reports.append)
    sizes = [r.size for r in reports]
    assert sorted(set(sizes), key=sizes.index) == [(32, 48), (45, 68), (64, 96)]
    assert [r.step for r in reports] == list(range(1, 10)) and reports[-1].total == 9
    assert result.image.shape == small_content.shape


def test_adam_state_carries_across_scales(small_content, small_style):
    result = stylize(small_content, small_style, tiny(size=96, scales=2, steps=4, optimizer="adam", learning_rate=0.05))
    assert result.losses[-1] < result.losses[0]


def test_transparency_survives_untouched(small_content, small_style):
    alpha = np.zeros(small_content.shape[:2], dtype=np.uint8)
    alpha[10:50, 20:70] = 255
    alpha[30:40, :] = 128
    rgba = np.dstack([small_content, alpha])
    result = stylize(rgba, small_style, tiny())
    assert result.image.shape == rgba.shape
    assert np.array_equal(result.to_uint8()[..., 3], alpha)


def test_working_size_output_scales_alpha_too(small_content, small_style):
    rgba = np.dstack([small_content, np.full(small_content.shape[:2], 200, np.uint8)])
    result = stylize(rgba, small_style, tiny(size=48, output_size="working"))
    assert result.image.shape == (32, 48, 4)
    assert np.allclose(result.image[..., 3], 200 / 255, atol=1e-3)


def test_sixteen_bit_and_float_inputs(small_content, small_style):
    as16 = (small_content.astype(np.uint16) * 257)
    asfloat = small_content.astype(np.float32) / 255
    a = stylize(as16, small_style, tiny(steps=2)).image
    b = stylize(asfloat, small_style, tiny(steps=2)).image
    assert np.allclose(a, b, atol=1e-4)


def test_progress_reports_and_previews(small_content, small_style):
    reports = []
    stylize(small_content, small_style, tiny(steps=4, preview_every=2), progress=reports.append)
    assert [r.step for r in reports] == [1, 2, 3, 4]
    assert all(r.total == 4 and r.elapsed >= 0 and np.isfinite(r.loss) for r in reports)
    assert [r.preview is not None for r in reports] == [False, True, False, True]
    assert reports[1].preview.shape == (43, 64, 3)


def test_cancel_stops_within_one_step(small_content, small_style):
    stop = threading.Event()
    steps_seen = []

    def on_progress(p):
        steps_seen.append(p.step)
        if p.step == 2:
            stop.set()

    original = small_content.copy()
    with pytest.raises(Cancelled):
        stylize(small_content, small_style, tiny(steps=50), progress=on_progress, cancel=stop)
    assert steps_seen == [1, 2]
    assert np.array_equal(small_content, original)


def test_cancel_callable(small_content, small_style):
    with pytest.raises(Cancelled):
        stylize(small_content, small_style, tiny(steps=50), cancel=lambda: True)


def test_device_is_chosen_automatically():
    assert available_device("auto") in ("cuda", "mps", "cpu")
    assert available_device("cpu") == "cpu"


@pytest.mark.parametrize(
    "content, match",
    [
        (np.zeros((8, 8, 3), np.uint8), "at least 16 px"),
        (np.zeros((64, 64, 5), np.uint8), "height × width × 3"),
        (np.full((32, 32, 3), np.nan, np.float32), "NaN"),
        ("no/such/file.png", "does not exist"),
        (12, "give a file path"),
    ],
)
def test_bad_images_get_a_message(content, match, small_style):
    with pytest.raises(BadImage, match=match):
        stylize(content, small_style, tiny())


def test_unreadable_image_file_is_named(tmp_path, small_style):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(BadImage, match="notes.png"):
        stylize(bad, small_style, tiny())


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(steps=0), "Steps 0"),
        (dict(size=4), "Size 4"),
        (dict(optimizer="sgd"), "optimizer"),
        (dict(style_layers=["relu9_9"]), "relu9_9"),
        (dict(preserve_colors="sepia"), "colour preservation"),
        (dict(style_weight=-1), "negative"),
        (dict(device="tpu"), "Unknown device"),
        (dict(init="missing.png"), "init image"),
        (dict(nonsense=1), "Unknown setting"),
    ],
)
def test_bad_settings_get_a_message(overrides, match, small_content, small_style):
    with pytest.raises(BadConfig, match=match):
        stylize(small_content, small_style, tiny(**overrides))


def test_unknown_preset():
    with pytest.raises(BadConfig, match="Unknown preset"):
        StyleConfig.from_preset("turbo")
