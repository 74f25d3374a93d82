"""The GIMP plug-in's parts that need no GIMP: the .npy files, the engine worker (real
engine, real weights, small images) and install.py --gimp."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gimp_plugin import PRESETS, npy

REPO = Path(__file__).resolve().parents[1]


def test_presets_are_the_engines():
    import nst_core

    assert set(PRESETS) == set(nst_core.PRESETS)


@pytest.mark.parametrize("shape", [(3, 5, 4), (7, 2)])
def test_npy_files_round_trip_with_numpy(tmp_path, shape):
    values = np.random.default_rng(0).random(shape, dtype=np.float32)
    npy.write(str(tmp_path / "a.npy"), values.tobytes(), shape)
    assert np.array_equal(np.load(tmp_path / "a.npy"), values)
    np.save(tmp_path / "b.npy", values)
    data, read_shape = npy.read(str(tmp_path / "b.npy"))
    assert read_shape == shape and data == values.tobytes()


class Worker:
    def __init__(self, tmp_path: Path, style: str, steps: int = 30, rgb=None, **options) -> None:
        rgb = np.random.default_rng(1).random((40, 56, 3), dtype=np.float32) if rgb is None else rgb
        rgba = np.concatenate([rgb, np.ones((*rgb.shape[:2], 1), np.float32)], axis=2)
        np.save(tmp_path / "in.npy", rgba)
        self.output = tmp_path / "out.npy"
        self.request = {"style": style, "preset": "fast",
                        "options": {"steps": steps, "size": 48, "seed": 0, **options},
                        "workdir": str(tmp_path), "jobs": [{"input": str(tmp_path / "in.npy"), "mask": None,
                                                            "output": str(self.output)}]}
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen([sys.executable, "-m", "gimp_plugin.worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        self.process.stdin.write(json.dumps(self.request) + "\n")
        self.process.stdin.flush()

    def event(self) -> dict:
        return json.loads(self.process.stdout.readline() or "{}")

    def until(self, kind: str) -> dict:
        while True:
            event = self.event()
            if event.get("event") in (kind, None, "error", "finished", "cancelled"):
                return event


def test_worker_styles_and_reports_progress(tmp_path, style_path):
    worker = Worker(tmp_path, str(style_path), steps=3)
    assert worker.until("ready")["event"] == "ready"
    assert worker.until("progress")["total"] >= 3
    assert worker.until("finished")["event"] == "finished"
    assert worker.process.wait(60) == 0
    out = np.load(worker.output)
    assert out.shape == (40, 56, 4) and np.allclose(out[:, :, 3], 1.0)


def test_worker_finishes_at_the_layers_own_size_unless_told_otherwise(tmp_path, style_path):
    """Detail ▸ Sharp at the layer's own size (the default, as in Krita): as sharp as the layer at 100 %."""
    from PIL import Image

    from conftest import EXAMPLES

    photo = np.asarray(Image.open(EXAMPLES / "content" / "coffee.png").convert("RGB").resize((240, 160)),
                       dtype=np.float32) / 255

    def detail(rgb):
        g = rgb[..., :3].mean(axis=2)
        return np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]).mean()

    results = {}
    for choice in ("layer", "working"):
        folder = tmp_path / choice
        folder.mkdir()
        worker = Worker(folder, str(style_path), steps=3, rgb=photo, detail=choice)
        assert worker.until("finished")["event"] == "finished" and worker.process.wait(60) == 0
        results[choice] = np.load(worker.output)
        assert results[choice].shape == (160, 240, 4)
    assert detail(results["layer"]) >= 0.8 * detail(photo) > 2 * detail(results["working"])
    worker = Worker(tmp_path, str(style_path), steps=3, detail="huge")
    event = worker.until("finished")
    assert event["event"] == "error" and event["message"] == "Unknown detail 'huge': use layer or working."
    worker.process.wait(60)


def test_worker_cancel_stops_within_a_step(tmp_path, style_path):
    worker = Worker(tmp_path, str(style_path))
    assert worker.until("progress")["event"] == "progress"
    worker.process.stdin.write("cancel\n")
    worker.process.stdin.flush()
    assert worker.until("cancelled")["event"] == "cancelled"
    assert worker.process.wait(60) == 0 and not worker.output.exists()


def test_worker_stops_and_cleans_up_when_the_plugin_goes_away(tmp_path, style_path):
    worker = Worker(tmp_path, str(style_path))
    assert worker.until("progress")["event"] == "progress"
    worker.process.stdin.close()  # what GIMP killing the plug-in looks like to the worker
    assert worker.process.wait(60) == 0
    assert not tmp_path.exists()


def test_worker_reports_engine_problems_in_one_line(tmp_path):
    (tmp_path / "not-an-image.jpg").write_text("hello")
    worker = Worker(tmp_path, str(tmp_path / "not-an-image.jpg"))
    event = worker.until("finished")
    assert event["event"] == "error" and "\n" not in event["message"] and "Traceback" not in event["message"]
    assert "is not an image" in event["message"] and "Error" not in event["message"]  # issue 21, finding 3
    worker.process.wait(60)


def run_installer(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "install.py"), *args], capture_output=True, text=True,
                          timeout=600)


def test_install_check_uninstall_gimp(tmp_path):
    gimp_dir = tmp_path / "GIMP" / "3.0"
    done = run_installer("--gimp", "--gimp-dir", str(gimp_dir), "--link-env", sys.prefix)
    assert done.returncode == 0, done.stderr
    folder = gimp_dir / "plug-ins" / "neural_style_transfer"
    entry = folder / "neural_style_transfer.py"
    assert entry.is_file() and os.access(entry, os.X_OK)
    assert (folder / "gimp_plugin" / "worker.py").is_file() and (folder / "nst_core" / "engine.py").is_file()
    assert json.loads((folder / "engine.json").read_text())["python"].startswith(sys.prefix)
    check = run_installer("--gimp", "--check", "--gimp-dir", str(gimp_dir))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "torch" in check.stdout and "weights" in check.stdout
    gone = run_installer("--gimp", "--uninstall", "--gimp-dir", str(gimp_dir))
    assert gone.returncode == 0, gone.stderr
    assert not tmp_path.joinpath("GIMP").exists()  # the folders it created are gone too
    again = run_installer("--gimp", "--check", "--gimp-dir", str(gimp_dir))
    assert again.returncode == 1 and "install.py --gimp" in again.stdout


def test_install_gimp_refuses_an_environment_without_torch(tmp_path):
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    done = run_installer("--gimp", "--gimp-dir", str(tmp_path / "g"), "--link-env", str(env))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "lacks torch" in done.stderr
    assert not (tmp_path / "g").exists()  # nothing written


class Estimator:
    """``python -m gimp_plugin.worker --estimate``, as the dialog runs it (bridge.Estimator)."""

    def __init__(self, tmp_path: Path, env=None) -> None:
        self.costs = tmp_path / "costs.json"
        self.costs.write_text(json.dumps({"cpu": {"per_pixel": 2e-5, "per_tile": 0.3, "startup": 2.5}}))
        self.process = subprocess.Popen([sys.executable, "-m", "gimp_plugin.worker", "--estimate"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, env=dict(os.environ, PYTHONPATH=str(REPO), **(env or {})))
        self.serial = 0

    def ask(self, style, shapes, preset="fast", style_size=None, **options) -> dict:
        """The answer for a painting file ``style``, or a painting layer of ``style_size`` (h, w)."""
        self.serial += 1
        options = {"steps": 0, "size": 0, "seed": 0, "style_strength": 1.0, "style_scale": 1.0,
                   "preserve_colors": "none", "device": "cpu", "detail": "layer", **options}
        painting = {"style": str(style)} if style_size is None else {"style": None, "style_size": list(style_size)}
        self.process.stdin.write(json.dumps({"id": self.serial, "costs": str(self.costs), **painting,
                                             "preset": preset, "options": options, "shapes": shapes}) + "\n")
        self.process.stdin.flush()
        while True:
            answer = json.loads(self.process.stdout.readline())
            if answer.get("id") == self.serial:
                return answer

    def close(self) -> None:
        self.process.stdin.close()
        assert self.process.wait(60) == 0


def test_estimate_is_the_runs_plan_priced_by_the_measured_rate(tmp_path, style_path):
    """The cost line's size is the engine's last level for the settings the run will use
    (worker.job_config), its time the plan priced by the remembered rate plus the start-up."""
    import nst_core
    from nst_core import schedule

    from gimp_plugin import worker

    estimator = Estimator(tmp_path)
    try:
        whole = estimator.ask(style_path, [{"height": 400, "width": 600, "selection": False}])
        working = estimator.ask(style_path, [{"height": 400, "width": 600, "selection": False}], detail="working")
        patch = estimator.ask(style_path, [{"height": 90, "width": 120, "selection": True}])
        two = estimator.ask(style_path, [{"height": 400, "width": 600}, {"height": 100, "width": 50}])
        letter = tmp_path / "letter.png"
        letter.write_text("not a painting")
        bad = estimator.ask(letter, [{"height": 40, "width": 60}])
    finally:
        estimator.close()
    rate = schedule.Rate("cpu", 2e-5, 0.3)
    for answer, detail, hw in ((whole, "layer", (400, 600)), (working, "working", (400, 600))):
        config = worker.build_config(nst_core, "fast", {"detail": detail, "device": "cpu"})
        plan = schedule.levels(hw, worker.job_config(nst_core, config, hw, _style_hw(style_path), "cpu"))
        assert answer["size"] == [plan[-1].size[1], plan[-1].size[0]]
        assert answer["seconds"] == pytest.approx(schedule.seconds(plan, rate) + worker.RUN_OVERHEAD + 2.5, abs=0.1)
        assert answer["problem"] is None and answer["text"].endswith("on the CPU")
    assert whole["text"].startswith("600 × 400 px (the layer's own size) · about ")
    assert working["text"].startswith("384 × 256 px, then scaled to the layer · about ")
    assert patch["text"].startswith("384 × 288 px, then scaled down to the selection · about ")  # said before the click
    assert two["text"].startswith("2 layers, up to 600 × 400 px · about ")
    assert bad["problem"].startswith(f"The style image '{letter}' could not be read: it is not an image")
    assert "Error" not in bad["problem"]


def test_estimate_for_a_painting_layer_is_the_same_sized_files(tmp_path, style_path):
    """A layer as the painting (issue 21, finding 16) is planned from its size: the cost line is
    the one a painting file of that size gets; a layer needs no file (no 'no style image')."""
    estimator = Estimator(tmp_path)
    try:
        shapes = [{"height": 400, "width": 600, "selection": False}]
        from_file = estimator.ask(style_path, shapes)
        from_layer = estimator.ask(None, shapes, style_size=_style_hw(style_path))
    finally:
        estimator.close()
    assert from_layer["problem"] is None and from_layer["text"]
    assert (from_layer["text"], from_layer["seconds"], from_layer["size"]) == (
        from_file["text"], from_file["seconds"], from_file["size"])


def _style_hw(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.height, image.width


def test_estimate_refuses_what_memory_cannot_hold(tmp_path, style_path):
    estimator = Estimator(tmp_path, env={"NST_MEMORY_LIMIT_MB": "300"})
    try:
        answer = estimator.ask(style_path, [{"height": 4000, "width": 6000}], detail="working", size=4096)
    finally:
        estimator.close()
    assert answer["problem"].startswith("A working size of 4096 px needs about") and answer.get("seconds") is None


def test_worker_progress_carries_work_done_time_left_and_a_preview(tmp_path, style_path):
    worker = Worker(tmp_path, str(style_path), steps=12, preview=True)
    events = []
    while True:
        event = worker.event()
        events.append(event)
        if event.get("event") in ("finished", "error", None):
            break
    assert events[-1]["event"] == "finished" and worker.process.wait(60) == 0
    progress = [e for e in events if e["event"] == "progress"]
    fractions = [e["fraction"] for e in progress]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert any(e["remaining"] is not None for e in progress)
    assert progress[-1]["size"] == progress[-1]["finish"]
    previews = [e["preview"] for e in progress if e.get("preview")]
    assert previews and all(p["width"] <= 256 and p["height"] <= 256 for p in previews)
