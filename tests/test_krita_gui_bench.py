"""``python -m bench.krita_gui``'s report (issue 17): its BENCHMARKS.md block, without Krita."""
from __future__ import annotations

from bench import krita_gui


def result(version, cli, api, dialog):
    return {"version": version, "median": {"cli": cli, "api": api, "dialog": dialog}, "api": api / cli,
            "dialog": dialog / cli, "info": {"krita": f"{version}.4", "binding": "PyQt6", "threads": 3},
            "load": (1.0, 2.0), "rows": [[version, "1", "command line", f"{cli:.1f}", "2"]]}


def test_block_has_a_row_per_version_with_both_ratios():
    text = krita_gui.block([result("6.0", 40.0, 42.0, 48.0), result("5.1", 50.0, 45.0, 50.0)])
    assert text.startswith(krita_gui.BEGIN) and text.rstrip().endswith(krita_gui.END)
    assert "| 6.0.4 | PyQt6 | 3 | 40.0 | 42.0 s (**1.05×**) | 48.0 s (**1.20×**) |" in text
    assert "| 5.1.4 | PyQt6 | 3 | 50.0 | 45.0 s (**0.90×**) | 50.0 s (**1.00×**) |" in text
    assert "6.0 1.0 → 2.0" in text


def test_write_replaces_only_its_own_block(tmp_path, monkeypatch):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nother block\n", encoding="utf-8")
    monkeypatch.setattr(krita_gui, "BENCHMARKS", path)
    krita_gui.write(krita_gui.block([result("6.0", 40.0, 42.0, 48.0)]))
    krita_gui.write(krita_gui.block([result("5.2", 40.0, 40.0, 40.0)]))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nother block\n\n")
    assert text.count(krita_gui.BEGIN) == 1 and "5.2.4" in text and "6.0.4" not in text
