"""Bad input to the scripting API (``neural_style.api.stylize_layers``) inside real Krita (issue 10).

One kritarunner run (tests/krita/bad_input_api_checks.py) tries every case and writes a
JSON file; each test judges one case: the plugin's or engine's own error with one plain
sentence, no run started (the progress callback never called), the document's layers
unchanged, and Krita's peak memory where the case is about memory.
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

MB = 2**20


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("krita_bad_input")
    pykrita = support.manual_layout(tmp / "pykrita")
    (tmp / "bombs").mkdir()
    return support.run_kritarunner("bad_input_api_checks", [support.KRITA_TESTS, pykrita], tmp / "bad.json",
                                   args=[tmp / "bombs"], home=tmp / "home", timeout=400)


def section(results, name):
    value = results.get(name)
    assert value is not None, f"check {name} did not run"
    assert not (isinstance(value, dict) and "error" in value), value.get("error")
    return value


def refused(record, kind, *words):
    """The call raised ``kind`` with one sentence holding ``words``, ran nothing, changed nothing."""
    assert record["raised"] is not None, record
    name, message = record["raised"][0], record["raised"][1]
    assert name == kind, record["raised"]
    assert "\n" not in message and "Traceback" not in message, message
    for word in words:
        assert word in message, message
    assert record["progress_calls"] == 0, record
    assert record["unchanged"], record


def test_style_file_bomb_is_refused_without_decoding(results):
    r = section(results, "bombs")["style_file"]
    refused(r, "BadImage", "13000×13000 px", "limit")
    assert r["peak_above_start"] < 100 * MB, r["peak_above_start"] / MB


def test_layer_over_the_pixel_budget_is_refused_before_it_is_read(results):
    r = section(results, "bombs")
    assert r["wide_bounds"][0] > 8192
    refused(r["wide_layer"], "BadImage", "layer 'wide'", "limit")
    refused(r["wide_style_layer"], "BadImage", "style layer 'wide'", "limit")
    assert r["wide_layer"]["peak_above_start"] < 100 * MB
    assert r["wide_style_layer"]["peak_above_start"] < 100 * MB


def test_huge_working_size_is_capped_to_what_the_layer_can_use(results):
    r = section(results, "huge_working_size")
    assert r["raised"] is None, r["raised"]
    assert max(max(size) for size in r["sizes"]) <= 512  # not 8192: the layer is 96 px
    assert r["new_bounds"] == [96, 64]
    assert r["names_after"] == r["names_before"] + ["Styled – photo (starry_night)"]
    assert r["peak_above_start"] < 1500 * MB, r["peak_above_start"] / MB


def test_cancel_during_a_long_tiled_step(results):
    r = section(results, "cancel_large")
    assert r["raised"][0] == "Cancelled"
    assert r["progress_calls"] == 1  # the second step was interrupted inside, not finished
    assert r["latency"] < 2.0, r["latency"]
    assert r["unchanged"]


@pytest.mark.parametrize("case,kind,words", [
    ("seed_2_70", "BadConfig", ["Seed", "out of range"]),
    ("steps_abc", "BadConfig", ["Steps 'abc' is not a whole number"]),
    ("size_list", "BadConfig", ["Size [64] is not a whole number"]),
    ("strength_abc", "BadConfig", ["Style strength 'strong' is not a number"]),
    ("strength_nan", "BadConfig", ["Style strength nan is not a finite number"]),
    ("style_weight_nan", "BadConfig", ["Style weight nan is not a number"]),
    ("style_weight_inf", "BadConfig", ["Style weight inf is infinite"]),
    ("preset_none", "BadConfig", ["Unknown preset None"]),
    ("root_node", "NoLayer", ["root node"]),
    ("other_document", "NoLayer", ["'photo' is not in the document"]),
    ("not_a_node", "NoLayer", ["is not a layer"]),
    ("not_a_document", "NoDocument", ["is not a document"]),
    ("style_number", "NoStyle", ["neither an image file nor a layer"]),
])
def test_bad_arguments_get_the_plugins_own_errors(results, case, kind, words):
    refused(section(results, "words")[case], kind, *words)


def test_nan_pixel_in_a_float_layer_is_styled(results):
    r = section(results, "nan_pixel")
    assert r["raised"] is None, r["raised"]
    assert r["result_nan"] == 0
