"""The command line, run as a user runs it: a real subprocess."""
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str):
    return subprocess.run([sys.executable, "-m", "nst_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_cli_styles_an_image(tmp_path, content_path, style_path):
    out = tmp_path / "styled.png"
    done = run_cli(str(content_path), str(style_path), "-o", str(out), "--preset", "fast", "--size", "64",
                   "--steps", "3", "--seed", "7", "--preserve-colors", "luminance", "--init", "content",
                   "--optimizer", "lbfgs", "--style-scale", "1.5", "--style-weight", "1e-4", "--content-weight", "1",
                   "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert "steps on cpu" in done.stdout and "seed 7" in done.stdout
    assert "3/3" in done.stderr  # the progress bar (the 45 px coarse level is skipped)
    image = np.asarray(Image.open(out))
    assert image.shape == (43, 64, 3)  # --size is the long side of the saved picture


def test_cli_several_styles_with_weights(tmp_path, content_path, style_path, second_style_path):
    out = tmp_path / "two.png"
    done = run_cli(str(content_path), str(style_path), str(second_style_path), "--style-blend", "2", "1",
                   "-o", str(out), "--size", "48", "--steps", "2", "--scales", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    assert out.exists() and done.stderr == ""


def _assert_one_line_error(done, code: int, text: str):
    assert done.returncode == code
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_cli_missing_image(tmp_path, style_path):
    done = run_cli("nope.png", str(style_path), "-o", str(tmp_path / "o.png"))
    _assert_one_line_error(done, 1, "nope.png")


def test_cli_unreadable_image(tmp_path, style_path):
    fake = tmp_path / "fake.jpg"
    fake.write_text("hello")
    done = run_cli(str(fake), str(style_path), "-o", str(tmp_path / "o.png"))
    _assert_one_line_error(done, 1, "fake.jpg")


def test_cli_bad_arguments(tmp_path, content_path, style_path):
    _assert_one_line_error(run_cli(str(content_path), str(style_path), "-o", "o.png", "--steps", "many"), 2, "--steps")
    _assert_one_line_error(run_cli(str(content_path), str(style_path), "-o", "o.png", "--preset", "turbo"), 2, "--preset")
    _assert_one_line_error(run_cli(str(content_path), "-o", "o.png"), 2, "style image")
    _assert_one_line_error(run_cli(str(content_path), str(style_path)), 2, "-o")
    _assert_one_line_error(run_cli(str(content_path), str(style_path), "-o", "/no/such/dir/o.png"), 2, "does not exist")
    _assert_one_line_error(run_cli(str(content_path), str(style_path), "-o", str(tmp_path / "o.png"), "--size", "8"), 1, "Size 8")


def test_cli_says_when_the_style_did_not_take(tmp_path, content_path, style_path):
    """A run that leaves the style no room ends with one plain warning line, not a silent photo."""
    out = tmp_path / "photo_again.png"
    done = run_cli(str(content_path), str(style_path), "-o", str(out), "--size", "64", "--scales", "1",
                   "--steps", "12", "--seed", "0", "--init", "content", "--style-weight", "1e-12",
                   "--palette-weight", "0", "--quiet")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "style hardly took hold" in warnings[0] and "Traceback" not in done.stderr
