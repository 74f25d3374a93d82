"""Krita-side layer handling, checked inside real Krita (``kritarunner``, offscreen).

One kritarunner run (tests/krita/layers_checks.py) does every check and writes a JSON
file; each test below judges one part of it. Needs ``kritarunner`` on PATH (Krita 5.1
from apt); skipped otherwise.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "krita"))
import support  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("kritarunner") is None,
                                reason="kritarunner (Krita 5.1) is not on PATH")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("krita_layers")
    pykrita = support.manual_layout(tmp / "pykrita")
    data = support.run_kritarunner("layers_checks", [support.KRITA_TESTS, pykrita], tmp / "results.json",
                                   home=tmp / "home")
    return data


def section(results, name):
    value = results.get(name)
    assert value is not None, f"check {name} did not run"
    assert not (isinstance(value, dict) and "error" in value), value.get("error")
    return value


SPACES = [("RGBA", "U8"), ("RGBA", "U16"), ("RGBA", "F16"), ("RGBA", "F32"),
          ("GRAYA", "U8"), ("GRAYA", "U16"), ("GRAYA", "F32")]


@pytest.mark.parametrize("model,depth", SPACES)
def test_round_trip_is_byte_exact(results, model, depth):
    r = section(results, "round_trip")[model + depth]
    assert r["bytes_equal"] and r["src_unchanged"]
    assert r["node_depth"] == [model, depth]
    assert r["dtype"] == "float32"


@pytest.mark.parametrize("depth", ["U8", "U16", "F16", "F32"])
def test_channel_order_red_is_red(results, depth):
    r = section(results, "channel_order")[depth]
    assert r["decoded"][0][0] == [1.0, 0.0, 0.0, 1.0]
    assert r["decoded"][0][1][:3] == [0.0, 0.0, 1.0]
    assert r["projection_px0"] == [255, 0, 0, 255]
    assert r["projection_px1_blue"]


@pytest.mark.parametrize("model,depth", SPACES)
def test_engine_path_keeps_colour_and_alpha(results, model, depth):
    r = section(results, "engine_colour_identity")[model + depth]
    assert r["alpha_exact"]
    assert r["colour_max_err"] < 1e-4  # sRGB encode/decode of linear profiles: float rounding only
    assert r["content_shape"][2] == 3
    assert 0.0 <= r["content_range"][0] <= r["content_range"][1] <= 1.0


def test_result_inserted_directly_above_with_same_offset(results):
    r = section(results, "insertion")
    assert r["new_name"] == "Styled – source (style)"
    assert r["index_new"] == r["index_source"] + 1
    assert r["new_type"] == "paintlayer"
    assert r["new_position"] == r["src_position"] == [7, 3]
    assert r["new_bounds"] == r["src_bounds"]
    assert r["pixels_equal"] and r["source_unchanged"]
    assert r["group_children"] == ["inner", "Styled – inner (style)", "inner_top"]
    assert r["group_new_parent"] == "group"


def test_layer_of_other_depth_than_document(results):
    r = section(results, "other_depth_layer")
    assert r["new"] == r["src"]
    assert r["bytes_equal"]


def test_selection_limits_the_result(results):
    r = section(results, "selection")
    assert r["work_rect"] == [5, 4, 19, 10]  # bounding box of both selected areas
    assert r["new_bounds"] == r["work_rect"]
    assert r["alpha_full_region"] == 255
    assert r["alpha_half_region"] == [128]  # soft selection: half opacity
    assert r["alpha_outside_max"] == 0
    assert r["colour_inside"] == [64, 128, 192]
    assert r["src_unchanged"]
    assert r["outside"][0] == "EmptyLayer" and "selection" in r["outside"][1]


def test_group_file_and_clone_layers_read_through_projection(results):
    r = section(results, "projection_layers")
    assert r["group_rect"] == [2, 2, 4, 4]
    assert r["group_content_px"] == [3.0, 2.0, 1.0]  # BGRA bytes 01 02 03 -> R=3 G=2 B=1
    assert r["group_new_type"] == "paintlayer"
    assert r["group_new_pixels"] == "010203ff"
    assert r["order"][:3] == ["Background", "g", "Styled – g (s)"]
    assert r["file_rect"] == [0, 0, 451, 300] and r["file_content_std"] > 0.05
    assert r["clone_content_px"] == [3.0, 2.0, 1.0]


def test_refusals_are_plain_words_and_change_nothing(results):
    r = section(results, "refusals")
    for model in ("CMYKA", "LABA"):
        kind, message = r[model]
        assert kind == "UnsupportedLayer" and "RGB" in message and "Convert" in message
        assert r[model + "_children"] == 1
    assert r["empty"][0] == "EmptyLayer" and "empty" in r["empty"][1]
    assert r["transparent"][0] == "EmptyLayer"
    assert r["none"][0] == "NoLayer"
    assert r["children_after"] == 3
    assert r["removed"][0] == "LayerGone" and "deleted" in r["removed"][1]
    assert r["closed"][0] == "DocumentClosed"


def test_style_from_layer(results):
    r = section(results, "style_from_layer")
    assert r["label"] == "style layer" and r["shape"] == [4, 4, 3]
    assert r["px_blue"] == [0.0, 0.0, 1.0]
    assert r["px_transparent"] == [1.0, 1.0, 1.0]


def test_settings_persist_in_krita(results):
    r = section(results, "persisted_settings")
    assert r["equal"] and r["preset"] == "quality"
    assert r["recent"] == ["/tmp/a.png", "/tmp/b.png"]
