"""The scripting entry point ``neural_style.api.stylize_layers`` inside real Krita.

Runs ``kritarunner`` (offscreen) twice: once with the engine (tiny images, 4 steps) and
once with a layout whose dependencies are missing, to check the plain-words refusal.
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
    if not (support.REPO / "nst_core" / "__init__.py").is_file():
        pytest.skip("nst_core is not in the repository yet")
    tmp = tmp_path_factory.mktemp("krita_api")
    pykrita = support.manual_layout(tmp / "pykrita")
    return support.run_kritarunner("api_checks", [support.KRITA_TESTS, pykrita], tmp / "api.json",
                                   home=tmp / "home", timeout=400)


def ok(results, name):
    value = results.get(name)
    assert value is not None, f"check {name} did not run"
    assert not (isinstance(value, dict) and "error" in value), value.get("error")
    return value


def test_triton_is_blocked_before_torch(results):
    assert results["triton_blocked"] and results["triton_still_blocked"]


def test_one_layer(results):
    r = ok(results, "basic")
    assert r["count"] == 1
    assert r["names"] == ["Background", "photo", "Styled – photo (starry_night)"]
    assert r["source_unchanged"] and r["alpha_kept"]
    assert r["mean_abs_diff"] > 2  # the style changed the pixels
    assert r["bounds"] == [0, 0, 64, 48]


def test_style_from_a_layer_and_several_targets(results):
    r = ok(results, "layer_style_and_several")
    assert r["new"] == ["Styled – photo (style source)", "Styled – second (style source)"]
    assert r["names"] == ["Background", "photo", "Styled – photo (style source)", "second",
                          "Styled – second (style source)", "style source"]
    assert r["depths"] == [["RGBA", "U8"], ["RGBA", "F32"]]
    assert r["second_bounds"] == [4, 4, 16, 12]  # smaller than the engine's minimum: padded, then cropped


def test_selection_keeps_style_only_inside(results):
    r = ok(results, "selection")
    assert r["bounds"] == [10, 8, 30, 20]
    assert r["inside_min"] == 255 and r["outside_max"] == 0


def test_refusals_change_nothing(results):
    r = ok(results, "refusals")
    assert r["cmyk"][0] == "UnsupportedLayer" and r["cmyk_children"] == ["Background"]
    assert r["cancel"] == "Cancelled"
    assert r["missing_style"][0] == "NoStyle"
    assert r["bad_config"][0] == "BadConfig" and "16" in r["bad_config"][1]
    assert r["doc2_children"] == ["Background", "photo"]


def test_missing_dependencies_give_a_plain_message(tmp_path):
    pykrita = support.manual_layout(tmp_path / "pykrita")
    (pykrita / "neural_style" / "sys_paths.txt").unlink()  # no numpy / torch for Krita's Python
    r = support.run_kritarunner("api_checks", [support.KRITA_TESTS, pykrita], tmp_path / "no_engine.json",
                                args=["no-engine"], home=tmp_path / "home")
    r = ok(r, "no_engine")
    assert r["extension"] == "NeuralStyleExtension"  # the plugin itself still loads
    assert r["missing"] and "install.py" in r["missing"]
    assert r["raised"][0] == "EngineMissing" and "install.py" in r["raised"][1]
    assert r["triton_blocked"]


def test_out_of_memory_offers_retry_then_cpu_retry_works(results):
    r = ok(results, "controller")
    oom = r["oom"]
    assert oom["state"] == "failed" and "memory" in oom["message"]
    assert oom["retry_smaller_offered"] and oom["retry_cpu_offered"]
    assert oom["names"] == ["Background", "photo"]  # nothing added on failure
    assert r["retry"]["state"] == "done" and r["retry"]["device"] == "cpu"
    assert r["retry"]["names"] == ["Background", "photo", "Styled – photo (starry_night)"]


def test_document_closed_or_layer_deleted_while_working(results):
    r = ok(results, "controller")
    assert r["closed"]["state"] == "failed" and "closed" in r["closed"]["message"]
    assert r["deleted"]["state"] == "failed" and "deleted" in r["deleted"]["message"]
    assert r["deleted"]["names"] == ["Background"]
