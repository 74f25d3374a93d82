"""Issue 20: an animated layer styled as one animation in the real Krita 5.1 GUI (Xvfb).

The driver (tests/krita/animation_gui_driver) makes an animated layer whose keyframes at 0,
2 and 4 show a photo moving sideways, styles it through the real dialog's "every keyframe"
choice, reads the new animated layer back, undoes it, and styles it again through
``stylize_layers(..., frames="all")``. The same checks run in Krita 5.2, 5.3 and 6.0 from
tests/test_krita_versions.py.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "krita"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402
import test_plugin_gui as gui_tests  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("krita") is None or shutil.which("xvfb-run") is None,
                                reason="krita and xvfb-run are needed on PATH for the GUI test")
TIMES = [0, 2, 4]


@pytest.fixture(scope="module")
def animation(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("krita_animation")
    home = tmp / "home"
    krita_dir = home / ".local" / "share" / "krita"
    support.install_with_script(krita_dir, home)
    support.install_driver(krita_dir, "animation_gui_driver", "nst_animation_driver")
    gui_tests.enable_plugins(home / ".config" / "kritarc", ["neural_style", "nst_animation_driver"])
    config = {"content": str(gui_tests.small_png(tmp / "coffee_small.png")), "style": str(support.STYLE),
              "out": str(tmp / "animation.json"), "steps": 4, "size": 64, "timeout": 300}
    return gui_tests.run_krita(home, config, tmp / "animation.json", tmp / "krita.log", timeout=420)


def test_driver_ran_without_errors(animation):
    assert animation["errors"] == [], "\n".join(animation["errors"]) + "\n" + "\n".join(animation["steps"])


def test_the_dialog_offers_every_keyframe_and_prices_the_clip(animation):
    dialog = animation["dialog"]
    assert animation["source"]["keys"] == TIMES and animation["source"]["animated"]
    assert dialog["frames_enabled"] and "(3)" in dialog["frames_text"]
    assert dialog["cost"].startswith("3 frames of "), dialog["cost"]
    assert "about" in dialog["cost"] or "measuring" in dialog["cost"], dialog["cost"]


def test_one_new_animated_layer_with_keyframes_at_the_source_times(animation):
    assert animation["run"]["state"] == "done", animation["run"]
    styled = animation["styled"]
    assert styled["name"].startswith("Styled") and "walk" in styled["name"]
    assert styled["animated"] and styled["keys"] == TIMES, styled
    assert animation["names_after"] == animation["source"]["names_before"] + [styled["name"]]
    assert animation["source_unchanged"]


def test_every_keyframe_is_painted_and_keeps_the_source_alpha(animation):
    sums = animation["styled_sums"]
    width, height = animation["source"]["size"]
    for t in map(str, TIMES):
        assert sums[t]["bytes"] == width * height * 4
        assert sums[t]["vs_source"] > 8, sums  # re-painted, not the photo
        assert sums[t]["alpha_same"], t
    assert all(sums[str(t)]["vs_previous"] > 0 for t in TIMES[1:]), sums  # the frames follow the motion


def test_progress_counts_frames(animation):
    details = animation["run"]["details"]
    assert any(text.startswith("Frame 1 of") for text in details), details
    assert any(text.startswith("Frame 3 of") for text in details), details


def test_undo_is_one_step_and_leaves_the_source(animation):
    assert animation["undo_text"].endswith("Import animation"), animation["undo_text"]
    assert animation["after_undo"] == animation["source"]["names_before"]
    assert animation["source_unchanged_after_undo"]


def test_a_cancelled_run_adds_nothing_and_leaves_no_frames(animation):
    assert animation["api_cancel"] == "Cancelled"
    assert animation["names_after_cancel"] == animation["source"]["names_before"]
    assert animation["frames_left_on_disk"] == []


def test_scripting_api_styles_every_keyframe_and_refuses_a_still_layer(animation):
    api = animation["api"]
    assert api["keys"] == TIMES and api["names"][0].startswith("Styled")
    assert api["names_after"][-1] == api["names"][0]
    refusal = animation["api_still"]
    assert refusal.startswith("PluginError: ") and "keyframe" in refusal and "Traceback" not in refusal, refusal
