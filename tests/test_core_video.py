"""Video files in and out (nst_core/video.py and the CLI): a few 64×48 frames panned over the
coffee photo, encoded with PyAV here; styled clips read back with PyAV for their frame count,
rate and size; bad videos and output names refused in one line with nothing written; frames
read and written one at a time."""
from fractions import Fraction

import numpy as np
import pytest

from nst_core import BadImage, video

av = pytest.importorskip("av")

WIDTH, HEIGHT, FRAMES, SHIFT = 64, 48, 4, 4
FPS = Fraction(10)  #: exact in GIF's 1/100 s delays too


@pytest.fixture(scope="module")
def clip(content_path) -> list:
    from PIL import Image

    photo = np.asarray(Image.open(content_path).convert("RGB").resize((WIDTH + SHIFT * FRAMES, HEIGHT + 8)))
    return [np.ascontiguousarray(photo[4:4 + HEIGHT, SHIFT * t:SHIFT * t + WIDTH]) for t in range(FRAMES)]


def encode(path, frames, fps=FPS, codec="libx264") -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        container.start_encoding()
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = index
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decode(path) -> tuple:
    """(frames as uint8 RGB, frame rate, (width, height)) as PyAV reads them back."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return frames, stream.average_rate, (stream.width, stream.height)


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory, clip):
    path = tmp_path_factory.mktemp("clip") / "pan.mp4"
    encode(path, clip)
    return path


def cli(*args) -> tuple:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "nst_core", *map(str, args)], capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


RUN = ("--size", WIDTH, "--steps", 3, "--scales", 1, "--seed", 0, "--quiet")


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_cli_styles_a_video_keeping_its_frames_rate_and_size(tmp_path, clip, clip_file, style_path, suffix):
    out = tmp_path / f"styled{suffix}"
    code, stdout, err = cli(clip_file, style_path, "-o", out, *RUN)
    assert code == 0, err
    assert f"saved {FRAMES} frames in {out}" in stdout
    frames, rate, size = decode(out)
    assert len(frames) == FRAMES and rate == FPS and size == (WIDTH, HEIGHT)
    for styled, original in zip(frames, clip):
        assert np.abs(styled.astype(np.float32) - original).mean() > 12, "the frames came back unstyled"


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".gif"])
def test_writer_keeps_rate_size_and_pictures(tmp_path, clip, suffix):
    odd = [frame[:HEIGHT - 1, :WIDTH - 1] for frame in clip[:3]]
    path = tmp_path / f"out{suffix}"
    with video.VideoWriter(path, Fraction(25, 2) if suffix != ".gif" else FPS, (WIDTH - 1, HEIGHT - 1)) as writer:
        assert not path.exists()  # created at the first frame, not before
        for frame in odd:
            writer.write(frame)
    frames, rate, size = decode(path)
    assert len(frames) == 3 and rate == (Fraction(25, 2) if suffix != ".gif" else FPS)
    # yuv420p needs even sides: H.264 pads the odd side by one repeated pixel, VP9 and GIF keep it
    assert size == ((WIDTH, HEIGHT) if suffix == ".mp4" else (WIDTH - 1, HEIGHT - 1))
    for decoded, original in zip(frames, odd):
        assert np.abs(decoded[:HEIGHT - 1, :WIDTH - 1].astype(np.float32) - original).mean() < 8
    assert video.check_video(path) == video.VideoInfo(path, rate, *size, 3)


def test_a_cancelled_writer_leaves_no_file(tmp_path, clip):
    path = tmp_path / "partial.webm"
    with pytest.raises(KeyboardInterrupt):
        with video.VideoWriter(path, FPS, (WIDTH, HEIGHT)) as writer:
            writer.write(clip[0])
            assert path.exists()
            raise KeyboardInterrupt
    assert not path.exists()


def test_reader_is_lazy_and_the_cli_streams_frames(tmp_path, clip_file, style_path, monkeypatch):
    """Nothing is opened before the first frame is asked for; the CLI hands the engine an iterator and
    writes frame k before frame k + 2 is decoded (memory holds a few frames, never the clip)."""
    from nst_core import animation, cli as cli_module, images
    from nst_core.result import StyleResult

    frames = video.read_frames(tmp_path / "not-there-yet.mp4")
    assert iter(frames) is frames  # a generator: no error until it is read
    with pytest.raises(BadImage):
        next(frames)

    decoded, written, given = [0], [], []
    real_read = video.read_frames

    def counting_read(path):
        for frame in real_read(path):
            decoded[0] += 1
            yield frame

    def fake_stylize_frames(frames, style, config, progress=None, cancel=None, independent=False, **_):
        given.append(frames)
        for frame in frames:  # the real engine takes frames the same way, one at a time
            rgb, _ = images.to_float_image(frame)
            yield StyleResult(1 - rgb, 1, 0.0, "cpu", 0, 0.0, 0.0)

    real_write = video.VideoWriter.write

    def recording_write(self, rgb):
        written.append(decoded[0])
        real_write(self, rgb)

    monkeypatch.setattr(video, "read_frames", counting_read)
    monkeypatch.setattr(video.VideoWriter, "write", recording_write)
    monkeypatch.setattr(animation, "stylize_frames", fake_stylize_frames)
    out = tmp_path / "inverted.webm"
    assert cli_module.main([str(clip_file), str(style_path), "-o", str(out), "--size", str(WIDTH), "--quiet"]) == 0
    assert not isinstance(given[0], (list, tuple)) and iter(given[0]) is given[0]
    assert written == list(range(1, FRAMES + 1))  # frame k written right after frame k was decoded
    assert len(decode(out)[0]) == FRAMES

    # a folder of frames in, a video out at --fps
    folder = tmp_path / "frames"
    folder.mkdir()
    from PIL import Image

    for index, frame in enumerate(decode(clip_file)[0][:3]):
        Image.fromarray(frame).save(folder / f"f{index}.png")
    out = tmp_path / "from-folder.mp4"
    assert cli_module.main([str(folder), str(style_path), "-o", str(out), "--fps", "30000/1001", "--quiet"]) == 0
    frames, rate, size = decode(out)
    assert len(frames) == 3 and rate == Fraction(30000, 1001) and size == (WIDTH, HEIGHT)


@pytest.mark.parametrize("case", ["no frames", "one frame", "one frame in a folder", "text file", "output name"])
def test_bad_videos_get_one_line_and_nothing_is_written(tmp_path, clip, style_path, case):
    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    if case == "one frame in a folder":
        from PIL import Image

        source = tmp_path / "in"
        source.mkdir()
        Image.fromarray(clip[0]).save(source / "f0.png")
    elif case == "no frames":
        encode(source, [])
    elif case == "one frame":
        encode(source, clip[:1])
    elif case == "text file":
        source.write_text("this is not a video\n")
    else:
        encode(source, clip[:2])
        out = tmp_path / "out.avi"
    code, stdout, err = cli(source, style_path, "-o", out, *RUN)
    assert code in (1, 2) and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "Error:" not in err and "BadImage" not in err, err
    assert str(source.name) in lines[0] or out.name in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


def test_the_video_module_loads_neither_torch_nor_pyav():
    import subprocess
    import sys

    code = "import sys, nst_core.video; print('torch' in sys.modules, 'av' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "False"], done.stderr
