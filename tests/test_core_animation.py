"""Animations on real weights and a real photo panned by a known amount: the flow, the
temporal error measure, coherence against independent frames, cancel and bad frames."""
import numpy as np
import pytest

from nst_core import BadImage, Cancelled, StyleConfig, flow
from nst_core.animation import later_frame_config, stylize_frames

SHIFT = 4  #: px the camera pans right per frame
SIDE = 80  #: frame side


@pytest.fixture(scope="module")
def photo(content_path):
    from PIL import Image

    image = Image.open(content_path).convert("RGB").resize((SIDE + 6 * SHIFT, SIDE + 8))
    return np.asarray(image, dtype=np.float32) / 255.0


def pan(photo, count: int = 3) -> list:
    return [photo[4:4 + SIDE, SHIFT * t:SHIFT * t + SIDE].copy() for t in range(count)]


def true_motion():
    """The pan's backward flow (frame t's pixel x came from x + SHIFT in frame t − 1) and where it is defined."""
    backward = np.zeros((SIDE, SIDE, 2), np.float32)
    backward[..., 0] = SHIFT
    reliable = np.ones((SIDE, SIDE), np.float32)
    reliable[:, -SHIFT - 2:] = 0  # came from outside the earlier frame
    return backward, reliable


def config(**overrides) -> StyleConfig:
    return StyleConfig.from_preset("fast", **{"size": SIDE, "steps": 12, "scales": 2, "seed": 0, **overrides})


def test_flow_recovers_a_known_shift(photo):
    earlier, later = pan(photo, 2)
    backward, reliable = flow.motion(later, earlier)
    inner = (slice(8, -8), slice(8, -8 - SHIFT))
    assert np.abs(backward[inner][..., 0] - SHIFT).mean() < 0.5
    assert np.abs(backward[inner][..., 1]).mean() < 0.5
    assert reliable[inner].mean() > 0.8


def test_warp_along_the_true_motion_rebuilds_the_later_frame(photo):
    earlier, later = pan(photo, 2)
    backward, reliable = true_motion()
    keep = reliable > 0
    assert np.abs(flow.warp(earlier, backward) - later)[keep].mean() < 0.01
    assert np.abs(earlier - later)[keep].mean() > 0.03  # the motion is there to undo


def test_temporal_error_is_zero_for_a_result_that_moves_with_the_scene(photo):
    earlier, later = pan(photo, 2)
    backward, reliable = true_motion()
    assert flow.temporal_error(later, earlier, backward, reliable) < 0.01
    assert flow.temporal_error(later, earlier, np.zeros_like(backward), reliable) > 0.03
    noisy = np.clip(later + np.random.default_rng(0).normal(0, 0.1, later.shape), 0, 1).astype(np.float32)
    assert flow.temporal_error(noisy, earlier, backward, reliable) > 0.05


def test_reliability_drops_a_disoccluded_patch(photo):
    earlier = pan(photo, 1)[0]
    later = earlier.copy()
    earlier = earlier.copy()
    earlier[20:50, 10:40] = photo[-30:, -30:][::-1]  # a cut-out that moves away from its place
    later[20:50, 30:60] = photo[-30:, -30:][::-1]
    _, reliable = flow.motion(later, earlier)
    assert reliable[25:45, 15:28].mean() < 0.5  # background uncovered where the cut-out was
    assert reliable[:15].mean() > 0.8


def test_a_still_background_keeps_zero_motion_beside_a_moving_cut_out(photo):
    """DIS alone drags a still background's flow along with a figure moving over it; the zero-motion
    candidate (flow.keep_still) puts it back where the frames say nothing moved."""
    background = pan(photo, 1)[0]
    patch = photo[-24:, -24:][::-1]
    earlier, later = background.copy(), background.copy()
    earlier[28:52, 20:44] = patch
    later[28:52, 23:47] = patch  # 3 px right
    still = np.ones(background.shape[:2], bool)
    still[24:56, 16:51] = False  # the cut-out, its old place and a margin
    raw = np.hypot(*np.moveaxis(flow.flow(later, earlier), -1, 0))[still].mean()
    kept = np.hypot(*np.moveaxis(flow.motion(later, earlier)[0], -1, 0))[still].mean()
    assert kept < 0.5 * raw and kept < 0.05, (raw, kept)
    inside = flow.motion(later, earlier)[0][32:48, 28:42, 0]
    assert abs(float(np.median(inside)) + 3) < 0.75  # the cut-out's own motion is kept


def test_coherent_frames_flicker_less_than_independent_ones(photo, small_style):
    frames = pan(photo)
    backward, reliable = true_motion()
    errors = {}
    for independent in (False, True):
        results = list(stylize_frames(frames, small_style, config(), independent=independent))
        assert [r.image.shape for r in results] == [f.shape for f in frames]
        errors[independent] = np.mean([flow.temporal_error(results[t].image, results[t - 1].image, backward, reliable)
                                       for t in (1, 2)])
        if not independent:
            assert results[1].steps == later_frame_config(config()).steps < results[0].steps
    assert errors[False] < 0.5 * errors[True], errors


def test_progress_names_the_frame_and_cancel_stops_within_a_step(photo, small_style):
    seen = []

    def stop() -> bool:
        return len(seen) >= 3 and seen[-1].frame == 2

    with pytest.raises(Cancelled):
        for _ in stylize_frames(pan(photo), small_style, config(steps=4, scales=1), progress=seen.append, cancel=stop):
            pass
    assert {p.frame for p in seen} == {1, 2} and all(p.frames == 3 for p in seen)
    assert sum(p.frame == 2 for p in seen) == 1
    assert all(p.remaining is not None and p.remaining >= 0 for p in seen[1:])


def test_frames_of_different_sizes_are_refused_in_one_line(photo, small_style):
    frames = [pan(photo, 1)[0], photo[:40, :50].copy()]
    with pytest.raises(BadImage) as caught:
        list(stylize_frames(frames, small_style, config(steps=2, scales=1)))
    message = str(caught.value)
    assert "Frame 2 is 50×40 px" in message and "\n" not in message


def cli(*args) -> tuple:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "nst_core", *map(str, args)], capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


def save_frames(folder, frames) -> None:
    from PIL import Image

    folder.mkdir()
    for index, frame in enumerate(frames):
        Image.fromarray((frame * 255).round().astype(np.uint8)).save(folder / f"f{index:03d}.png")


def test_cli_styles_a_folder_under_the_same_names(tmp_path, photo, style_path):
    save_frames(tmp_path / "in", pan(photo, 2))
    code, out, err = cli(tmp_path / "in", style_path, "-o", tmp_path / "out", "--size", SIDE, "--steps", 6,
                         "--scales", 1, "--seed", 0, "--quiet")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f000.png", "f001.png"]
    assert "saved 2 frames" in out


@pytest.mark.parametrize("case", ["sizes", "unreadable", "empty"])
def test_cli_bad_frames_get_one_line_and_nothing_is_written(tmp_path, photo, style_path, case):
    from PIL import Image

    save_frames(tmp_path / "in", pan(photo, 2))
    if case == "sizes":
        Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(tmp_path / "in" / "f002.png")
    elif case == "unreadable":
        (tmp_path / "in" / "f002.png").write_bytes(b"not an image")
    else:
        for path in (tmp_path / "in").iterdir():
            path.unlink()
    code, out, err = cli(tmp_path / "in", style_path, "-o", tmp_path / "out", "--size", SIDE, "--steps", 2, "--quiet")
    assert code in (1, 2) and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
