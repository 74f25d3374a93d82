"""The dialog and a run as a painter meets them, in the real Krita GUI under Xvfb (issue 9):
fields built from their one declaration (plugin/settings.py) with the engine's presets and
default, a dialog that fits a 1000-px screen with Advanced open, no stale red problem, layers
with the same name told apart, a second result placed where it is seen, a cancel that says so,
and a strength of 0 refused in words.

Same set-up as tests/test_plugin_gui.py (install.py --link-env into a temporary $HOME plus a
test-only driver plugin, tests/krita/dialog_gui_driver); the driver writes JSON, pytest judges it.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "krita"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402
from test_plugin_gui import enable_plugins, run_krita, small_png  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("krita") is None or shutil.which("xvfb-run") is None,
                                reason="krita and xvfb-run are needed on PATH for the GUI test")

SCREEN_HEIGHT = 1000


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("krita_dialog")
    home = tmp / "home"
    krita_dir = home / ".local" / "share" / "krita"
    support.install_with_script(krita_dir, home)
    support.install_driver(krita_dir, "dialog_gui_driver", "nst_dialog_driver")
    enable_plugins(home / ".config" / "kritarc", ["neural_style", "nst_dialog_driver"])
    config = {"content": str(small_png(tmp / "coffee_small.png")), "style": str(support.STYLE),
              "out": str(tmp / "dialog.json"), "steps": 3, "size": 64, "timeout": 150}
    result = run_krita(home, config, tmp / "dialog.json", tmp / "krita.log", screen=f"1280x{SCREEN_HEIGHT}")
    result["_log"] = (tmp / "krita.log").read_text(errors="replace")
    assert result["errors"] == [], "\n".join(result["errors"] + result["steps"])
    return result


def test_fields_presets_and_default_come_from_their_declarations(gui):
    from nst_core.config import DEFAULT_PRESET, PRESET_HINTS, PRESETS

    assert gui["preset"]["current"] == DEFAULT_PRESET == "balanced"  # a fresh Krita: the README's default
    assert gui["preset"]["items"] == list(PRESETS)
    assert PRESET_HINTS["balanced"] in gui["preset"]["hint"].lower()
    fields = gui["fields"]
    assert fields["style_strength"][:2] == [0.1, 10.0] and "relative to the preset" in fields["style_strength"][2]
    assert fields["steps"][:2] == [0, 5000] and fields["steps"][3] == "Preset's"
    assert fields["size"][:2] == [0, 8192] and fields["seed"][:2] == [0, 2147483647]


def test_strength_zero_is_refused_in_words(gui):
    kind, message = gui["strength_zero"]
    assert kind == "BadConfig" and message == "Style strength 0 is out of range: use 0.1 to 10."
    assert gui["strength_zero_unchanged"]


def test_dialog_fits_a_1000_px_screen_with_advanced_open(gui):
    fit = gui["fit"]
    assert fit["advanced_visible"] and fit["screen"] <= SCREEN_HEIGHT
    assert fit["dialog"] <= fit["screen"], fit


def test_problem_clears_when_a_style_is_picked(gui):
    assert "style" in gui["problem_without_style"].lower()
    assert gui["problem_after_style"] == ""


def test_first_use_offers_the_example_paintings(gui):
    """Issue 21, finding 7: on first use a painting is filled in — the example paintings that
    install.py puts beside the plugin (public domain, examples/style) — not an empty box."""
    first = gui["first_use"]
    names = [Path(path).name for path in first["offered"]]
    assert names == sorted(path.name for path in (support.REPO / "examples" / "style").iterdir())
    assert first["style_path"] == first["offered"][0]


def test_a_pasted_path_is_taken_like_a_browsed_one(gui):
    """Issue 21, finding 7: the file box takes a typed or pasted path (here a file:// URL in
    quotes, as a file manager copies it); Enter chooses it and starts no run."""
    typed = gui["typed_path"]
    assert typed["style_path"] == typed["pasted"]
    assert typed["shown"] == Path(typed["pasted"]).name
    assert not typed["run_started"] and typed["dialog_open"]


def test_same_named_layers_are_told_apart_and_the_target_is_not_preselected(gui):
    labels = [label.strip() for label in gui["style_layers"]]
    assert len(set(labels)) == len(labels), labels
    assert "twin (1 of 2 from the top)" in labels and "twin (2 of 2 from the top)" in labels
    assert not gui["style_layer_is_target"]


def test_second_result_goes_above_the_first(gui):
    first, second = gui["runs"]
    assert first["state"] == "done" and second["state"] == "done", (first["message"], second["message"])
    result = "Styled – photo (starry_night)"
    names = second["names"]
    assert names[-3:] == ["photo", result, result], names  # the newest on top, where it is seen
    assert first["names"][-2:] == ["photo", result]
    assert "\u00a0left" in first["detail"] and " s left" not in first["detail"]  # the ETA never wraps inside


def test_cancel_says_nothing_was_changed(gui):
    c = gui["cancel"]
    assert c["state"] == "cancelled" and c["names_unchanged"]
    assert c["visible"] and c["message_visible"] and c["close_visible"]
    assert c["title"] == "Cancelled" and c["message"] == "Cancelled — nothing in the document was changed."


def test_the_action_is_declared_once(gui):
    assert "Duplicated action name" not in gui["_log"]


def test_cancel_leaves_the_bar_where_it_stopped(gui):
    """Issue 21, finding 6: a full bar after Cancel read as "finished"."""
    before, after, maximum = gui["cancel"]["bar"]
    assert after < maximum and after >= before


def test_a_cmyk_layer_is_refused_before_the_click(gui):
    """Issue 21, findings 3 and 4: said where the memory refusal is, Stylize disabled, in plain words."""
    assert gui["cmyk_converted"] == "CMYKA"
    c = gui["before_click"]["cmyk"]
    assert not c["stylize"] and "8-bit CMYK" in c["cost"] and "Convert" in c["cost"], c
    assert "U8" not in c["cost"] and " on the " not in c["cost"]  # no time estimated for it


def test_a_selection_is_called_a_selection(gui):
    """Issue 21, finding 5: a selection's box is not "the layer's own size"."""
    s = gui["before_click"]["selection"]
    assert s["stylize"] and "selection" in s["cost"] and "layer" not in s["cost"], s
    assert "only the selected area" in s["note"]


def test_regions_cost_the_whole_layer(gui):
    """Issue 21, finding 1: a Regions run styles the whole layer; the cost line and the note say so."""
    checks = gui["before_click"]
    missing = checks["regions_no_second"]
    assert not missing["stylize"] and "second painting" in missing["cost"], missing
    regions, selection = checks["regions"], checks["selection"]
    assert regions["stylize"] and "layer" in regions["cost"] and "selection" not in regions["cost"], regions
    assert "whole layer" in regions["note"]
    assert regions["cost"].startswith("96 × 64 px") and not selection["cost"].startswith("96 × 64 px"), selection


def test_regions_from_a_selection_without_one_are_refused_before_the_click(gui):
    """Issue 21, finding 4."""
    r = gui["before_click"]["regions_no_selection"]
    assert not r["stylize"] and "need a selection" in r["cost"], r
