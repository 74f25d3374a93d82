"""Plain-Python parts of the Krita plugin (no Krita needed): bootstrap, settings, the
engine bridge's option mapping and the pixel encode/decode maths."""
from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

def test_bootstrap_keeps_pyqt_dirs_behind(plugin, tmp_path):
    plain, with_qt, missing = tmp_path / "site", tmp_path / "qtsite", tmp_path / "nope"
    plain.mkdir()
    (with_qt / "PyQt5").mkdir(parents=True)
    paths = ["/krita/libs", "/usr/lib/python3/dist-packages"]
    added = plugin.bootstrap.extend_sys_path([str(plain), str(with_qt), str(missing), str(plain)], paths)
    assert added == [str(plain), str(with_qt)]
    assert paths[0] == str(plain) and paths[-1] == str(with_qt)


def test_bootstrap_reads_paths_file_and_blocks_triton(plugin, tmp_path):
    listing = tmp_path / "sys_paths.txt"
    listing.write_text("# comment\n\n/a/b\n  /c/d  \n", encoding="utf-8")
    assert plugin.bootstrap.read_paths_file(str(listing)) == ["/a/b", "/c/d"]
    assert plugin.bootstrap.read_paths_file(str(tmp_path / "absent.txt")) == []
    assert "not_a_real_module_x" not in sys.modules
    plugin.bootstrap.block_modules(("not_a_real_module_x",))
    assert sys.modules["not_a_real_module_x"] is None
    with pytest.raises(ImportError):
        importlib.import_module("not_a_real_module_x")
    del sys.modules["not_a_real_module_x"]


def test_settings_round_trip_and_sanitise(plugin):
    s = plugin.settings
    store = s.MemoryStore()
    settings = s.PluginSettings(preset="balanced", steps=30, size=256, style_strength=3.0, seed=9,
                                preserve_colors="histogram", target="selected", advanced_open=True)
    for i in range(9):
        settings.remember_style(f"/styles/{i}.jpg")
    settings.remember_style("/styles/4.jpg")
    settings.save(store)
    back = s.PluginSettings.load(store)
    assert back == settings
    assert back.recent_styles[0] == "/styles/4.jpg" and len(back.recent_styles) == s.MAX_RECENT
    assert len(set(back.recent_styles)) == len(back.recent_styles)
    bad = s.MemoryStore({(s.GROUP, "preset"): "ultra", (s.GROUP, "steps"): "many",
                         (s.GROUP, "recent_styles"): "{not json", (s.GROUP, "style_strength"): "-4"})
    loaded = s.PluginSettings.load(bad)
    assert loaded.preset == "balanced" and loaded.steps == 0 and loaded.recent_styles == []
    assert loaded.style_strength == 1.0  # out of the declared range: the default, not a clamp
    options = back.engine_options()
    assert options["steps"] == 30 and options["size"] == 256 and options["preserve_colors"] == "histogram"
    assert s.PluginSettings().engine_options()["steps"] is None


def test_build_config_maps_plugin_options(plugin):
    nst_core = pytest.importorskip("nst_core")
    bridge = plugin.engine_bridge
    base = nst_core.StyleConfig.from_preset("fast")
    config = bridge.build_config(nst_core, "fast", steps=None, size=0, style_strength=2.0,
                                 preserve_colors="none", seed=3, device="cpu")
    assert config.steps == base.steps and config.size == base.size
    assert config.style_weight == pytest.approx(base.style_weight * 2.0)
    assert config.preserve_colors is None and config.seed == 3
    config = bridge.build_config(nst_core, "quality", steps=7, size=96, preserve_colors="luminance")
    assert (config.steps, config.size, config.preserve_colors) == (7, 96, "luminance")
    with pytest.raises(nst_core.BadConfig):
        bridge.build_config(nst_core, "fast", not_an_option=1)
    assert bridge.missing_dependency() is None  # the venv has numpy, torch and nst_core


def test_one_declaration_for_dialog_saved_settings_and_api(plugin):
    """Presets and the default come from nst_core.config; each range is refused the same way
    by the saved settings (back to the default) and the engine bridge (plain words)."""
    nst_core = pytest.importorskip("nst_core")
    from nst_core.config import DEFAULT_PRESET, PRESET_HINTS, PRESETS

    s, bridge = plugin.settings, plugin.engine_bridge
    assert s.SETTINGS["preset"].keys() == tuple(PRESETS) and s.PluginSettings().preset == DEFAULT_PRESET == "balanced"
    assert s.PRESET_HINTS is PRESET_HINTS
    assert s.SETTINGS["style_strength"].range == (0.1, 10.0)
    for value, ok in [(0, False), (0.09, False), (0.1, True), (10, True), (10.5, False)]:
        saved = s.PluginSettings.load(s.MemoryStore({(s.GROUP, "style_strength"): str(value)}))
        assert saved.style_strength == (value if ok else 1.0), value
        if ok:
            bridge.build_config(nst_core, "fast", style_strength=value)
        else:
            with pytest.raises(nst_core.BadConfig, match=r"^Style strength .* is out of range: use 0.1 to 10\.$"):
                bridge.build_config(nst_core, "fast", style_strength=value)
    with pytest.raises(nst_core.BadConfig, match=r"Working size 8 is out of range: use 0 \(the preset's\) or 16"):
        bridge.build_config(nst_core, "fast", size=8)
    assert bridge.build_config(nst_core, "fast", size=0).size == PRESETS["fast"].size
    assert bridge.build_config(nst_core).preset == DEFAULT_PRESET


@pytest.mark.parametrize("model,depth", [("RGBA", "U8"), ("RGBA", "U16"), ("RGBA", "F16"), ("RGBA", "F32"),
                                         ("GRAYA", "U8"), ("GRAYA", "F32")])
def test_decode_encode_round_trip(plugin, model, depth):
    layers = plugin.layers
    fmt = layers.PixelFormat(model, depth, "sRGB-elle-V2-srgbtrc.icc")
    rng = np.random.default_rng(0)
    if fmt.is_integer:
        raw = rng.integers(0, np.iinfo(fmt.dtype).max + 1, size=5 * 3 * fmt.channels).astype(fmt.dtype).tobytes()
    else:
        raw = rng.uniform(-1, 3, size=5 * 3 * fmt.channels).astype(fmt.dtype).tobytes()
    values = layers.decode(raw, 5, 3, fmt)
    assert values.shape == (3, 5, fmt.channels) and values.dtype == np.float32
    assert layers.encode(values, fmt) == raw


def test_integer_rgba_is_stored_bgra(plugin):
    layers = plugin.layers
    fmt = layers.PixelFormat("RGBA", "U8", "")
    assert layers.decode(bytes([10, 20, 30, 255]), 1, 1, fmt)[0, 0].tolist() == pytest.approx([30 / 255, 20 / 255, 10 / 255, 1.0])
    fmt = layers.PixelFormat("RGBA", "F32", "")
    assert layers.decode(np.array([0.5, 0.25, 0.125, 1], np.float32).tobytes(), 1, 1, fmt)[0, 0, 0] == 0.5


def test_linear_profiles_go_through_srgb(plugin):
    layers = plugin.layers
    linear = layers.PixelFormat("RGBA", "F32", "sRGB-elle-V2-g10.icc")
    assert linear.linear and not layers.PixelFormat("RGBA", "U8", "sRGB-elle-V2-srgbtrc.icc").linear
    values = np.array([[[0.2140, 0.2140, 0.2140, 1.0]]], np.float32)  # linear 0.214 ≈ sRGB 0.5
    assert layers.to_engine(values, linear)[0, 0, 0] == pytest.approx(0.5, abs=2e-3)
    back = layers.from_engine(layers.to_engine(values, linear), linear)
    assert back[0, 0, 0] == pytest.approx(0.214, abs=1e-5)


def test_compose_applies_selection_to_alpha_only(plugin):
    layers = plugin.layers
    fmt = layers.PixelFormat("RGBA", "U8", "")
    rgb = np.full((2, 2, 3), 0.5, np.float32)
    alpha = np.array([[1.0, 0.5], [1.0, 0.0]], np.float32)
    mask = np.array([[1.0, 1.0], [0.5, 1.0]], np.float32)
    out = layers.decode(layers.compose(rgb, alpha, mask, fmt), 2, 2, fmt)
    assert out[..., 3].ravel().tolist() == pytest.approx([1.0, 128 / 255, 128 / 255, 0.0])
    assert np.allclose(out[..., :3], 128 / 255)


def test_rect_and_names(plugin):
    r = plugin.layers.Rect(0, 0, 10, 10).intersected(plugin.layers.Rect(5, 8, 10, 10))
    assert r.args() == (5, 8, 5, 2)
    assert plugin.layers.Rect(0, 0, 4, 4).intersected(plugin.layers.Rect(9, 9, 2, 2)).empty
    assert plugin.jobs.result_name("Sky", "starry_night") == "Styled – Sky (starry_night)"
    # a result styled again names both paintings, as in GIMP (nst_core.paintings), not "Styled – Styled – …"
    again = plugin.jobs.result_name("Styled – Sky (starry_night)", "scream")
    assert again == "Styled – Sky (starry_night, then scream)"
    message = str(plugin.errors.engine_missing("torch"))
    assert "PyTorch" in message and "install.py" in message


def test_unsupported_layers_are_named_in_plain_words(plugin):
    """Issue 21, finding 3: "8-bit CMYK", never Krita's "(U8)" code."""
    errors = importlib.import_module("plugin.errors")
    message = str(errors.unsupported_model("paper", "CMYKA", "U8"))
    assert "8-bit CMYK" in message and "U8" not in message and "CMYKA" not in message
    message = str(errors.unsupported_depth("paper", "F64"))
    assert "64-bit float" in message and "F64" not in message


def test_thumbnail_box_agrees_with_the_problem_line(plugin, tmp_path):
    """Issue 21, finding 3: a non-image file is "not readable" in the box, not "too large"."""
    pytest.importorskip("PyQt5.QtWidgets")
    dialog = importlib.import_module("plugin.ui.dialog")
    letter = tmp_path / "letter.jpg"
    letter.write_text("hello, I am a letter, not a painting")
    image, problem, word = dialog.load_thumbnail(str(letter))
    assert image is None and word == dialog.UNREADABLE and "not an image" in problem
    from PIL import Image

    from nst_core import limits
    side = int(limits.MAX_PIXELS ** 0.5) + 16
    big = tmp_path / "big.png"
    Image.new("1", (side, side)).save(big)  # 1-bit: small on disk, over the budget in pixels
    image, problem, word = dialog.load_thumbnail(str(big))
    assert image is None and word == dialog.TOO_LARGE and problem


def test_progress_follows_the_work_not_the_steps(plugin):
    """Issue 21, finding 6: the bar's share is the one the time left comes from."""
    worker = pytest.importorskip("plugin.worker", exc_type=ImportError)
    # 88 % of the steps done but 79 s of 100 s left: about a fifth of the work is done
    assert worker.work_done(21.0, 79.0, 88, 100) == pytest.approx(0.21)
    assert worker.work_done(0.5, None, 1, 4) == 0.25  # no time known yet: steps


def test_regions_choice_and_second_painting_are_remembered(plugin):
    """Issue 21, finding 8: kept across runs and restarts (Krita's settings), unknown modes dropped."""
    settings = importlib.import_module("plugin.settings")
    store = settings.MemoryStore()
    s = settings.PluginSettings(regions_mode="selection_two", second_style="/tmp/matisse.jpg")
    s.save(store)
    loaded = settings.PluginSettings.load(store)
    assert (loaded.regions_mode, loaded.second_style) == ("selection_two", "/tmp/matisse.jpg")
    store.writeSetting(settings.GROUP, "regions_mode", "everywhere")
    assert settings.PluginSettings.load(store).regions_mode == "none"
