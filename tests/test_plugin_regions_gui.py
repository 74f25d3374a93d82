"""Regions (issue 11) in the real Krita GUI under Xvfb: the dialog's *Regions* choice and the
scripting API's ``masks=`` each give one new layer and one undo step, with the two halves of
the photo painted differently.

Same set-up as tests/test_plugin_gui.py (install.py --link-env into a temporary $HOME plus a
test-only driver plugin, tests/krita/regions_gui_driver); the driver writes JSON, pytest judges it.
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

SECOND_STYLE = support.REPO / "examples" / "style" / "woman-with-hat-matisse.jpg"


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("krita_regions")
    home = tmp / "home"
    krita_dir = home / ".local" / "share" / "krita"
    support.install_with_script(krita_dir, home)
    support.install_driver(krita_dir, "regions_gui_driver", "nst_regions_driver")
    enable_plugins(home / ".config" / "kritarc", ["neural_style", "nst_regions_driver"])
    config = {"content": str(small_png(tmp / "coffee_small.png")), "style": str(support.STYLE),
              "second_style": str(SECOND_STYLE), "out": str(tmp / "regions.json"), "steps": 4, "size": 64,
              "timeout": 200}
    return run_krita(home, config, tmp / "regions.json", tmp / "krita.log")


def differs(halves_a, halves_b):
    return sum(abs(a - b) for a, b in zip(halves_a, halves_b)) / 3


def test_dialog_regions_give_one_layer_and_one_undo_step(gui):
    assert gui["errors"] == [], "\n".join(gui["errors"]) + "\n" + "\n".join(gui["steps"])
    assert gui.get("dialog_problem", "") == "", gui.get("dialog_problem")
    assert gui["dialog_run"]["state"] == "done", gui["dialog_run"]["message"]
    d = gui["dialog"]
    assert d["new_count"] == 1
    assert d["new_name"] == f"Styled – {gui['source_name']} (starry_night + woman-with-hat-matisse)"
    assert len(d["names"]) == len(gui["names_before"]) + 1
    assert d["names"].index(d["new_name"]) == d["names"].index(gui["source_name"]) + 1  # directly above its source
    assert d["bounds"] == [0, 0, 96, 64]  # the whole layer: the selection chose a painting, not the area
    assert d["undo_text"] == "Undo Add Layer"
    assert d["names_after_undo"] == gui["names_before"]
    # both halves were re-painted, each differently from the photo
    source_left, source_right = gui["source_halves"]
    assert differs(d["halves"][0], source_left) > 3 and differs(d["halves"][1], source_right) > 3


def test_api_masks_give_one_layer_and_one_undo_step(gui):
    assert gui["errors"] == [], "\n".join(gui["errors"])
    a = gui["api"]
    assert a["new_count"] == 1
    source = a["names_before"].index(gui["source_name"])
    assert a["names"] == a["names_before"][:source + 1] + [a["new_name"]] + a["names_before"][source + 1:]
    assert a["undo_text"] == "Undo Add Layer"
    assert a["names_after_undo"] == a["names_before"]
    source_left, source_right = gui["source_halves"]
    assert differs(a["halves"][0], source_left) > 3 and differs(a["halves"][1], source_right) > 3
