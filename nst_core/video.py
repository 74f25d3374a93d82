"""Video files in and out of an animation, a few frames at a time.

Why it exists: the command line styles a clip frame by frame (nst_core/animation.py) and
must take a video file (.mp4, .webm, .gif, or anything else FFmpeg opens) and give one back
at the same frame rate and size, without ever holding the clip in memory: frames are
decoded one at a time as RGB uint8 arrays and encoded one at a time as they are styled. It
uses PyAV (``av`` on PyPI, whose wheels carry FFmpeg), imported inside the functions so
``import nst_core`` stays cheap, and never imports torch, so the CLI can check a video
before torch loads.

Every problem a user can fix (not a video, damaged, no frames, frames that change size, an
output name no encoder here can write) is a one-line :class:`BadImage` naming the file and
the fix. Nothing is written for a bad input: :func:`check_video` decodes the whole input
once before the run, and :class:`VideoWriter` creates its file only at the first styled
frame and removes it again if the run is cancelled or fails before the end.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Tuple

import numpy as np

from . import limits
from .errors import BadImage

#: the video files an animation can be written to, and the encoders tried for each, best first
OUTPUT_CODECS = {
    ".mp4": ("libx264", "mpeg4"),  # H.264 where the wheel's FFmpeg has x264 (PyAV's does), else MPEG-4 part 2
    ".webm": ("libvpx-vp9", "libvpx"),  # VP9, else VP8
    ".gif": ("gif",),
}
#: names taken for video files (read with FFmpeg) rather than images or folders
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif", ".mpg", ".mpeg", ".ogv",
                            ".wmv", ".flv", ".ts", ".3gp"})
#: the frame rate of a video made from a folder of frames, unless told otherwise
DEFAULT_FPS = Fraction(25)

_ENCODER_OPTIONS = {
    "libx264": {"crf": "18", "preset": "medium"},  # visually lossless, for a painting's fine strokes
    "libvpx-vp9": {"crf": "24", "b": "0", "row-mt": "1"},  # constant quality
    "libvpx": {"crf": "8", "b": "4M"},  # VP8 needs a bitrate ceiling with crf
    "mpeg4": {"qscale": "3"},
}
_WRITABLE = ", ".join(list(OUTPUT_CODECS)[:-1]) + " or " + list(OUTPUT_CODECS)[-1]


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds, from one decoding pass (:func:`check_video`) or its header (:func:`probe`)."""

    path: Path
    fps: Fraction  #: frames per second (the stream's average rate)
    width: int
    height: int
    frames: Optional[int]  #: how many frames; None when the header does not say (WebM, probe only)


def _av():
    try:
        import av
    except ImportError:
        raise BadImage("Reading and writing video files needs PyAV: install it with "
                       "'pip install av' (it is in requirements.txt), or use a folder of frames.") from None
    return av


def _reason(exc: BaseException) -> str:
    """FFmpeg's own words for a failure, without the errno and the repeated file name."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).split(":")[0].strip().rstrip(".").lower()


def is_video_name(path: Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _open(path: Path):
    """(container, its first video stream), or a one-line BadImage."""
    av = _av()
    if not path.exists():
        raise BadImage(f"The video '{path}' does not exist: check the path.")
    if path.is_dir():
        raise BadImage(f"'{path}' is a folder, not a video: give a video file or use the folder as frames.")
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise BadImage(f"'{path}' cannot be read as a video ({_reason(exc)}): give a video file such as "
                       ".mp4, .webm or .gif, or re-export it.") from None
    if not container.streams.video:
        container.close()
        raise BadImage(f"The video '{path}' has no frames: give a video with at least two frames.")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame-parallel decoding; still one frame handed out at a time
    return container, stream


def _fps(stream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    return DEFAULT_FPS


def _check_size(path: Path, width: int, height: int) -> None:
    limits.check_pixels(width, height, "video", path)
    if width < limits.MIN_SIDE or height < limits.MIN_SIDE:
        raise BadImage(f"The video '{path}' is only {width}×{height} px: use a video at least {limits.MIN_SIDE} px on each side.")


def _decoded(path: Path, container, stream) -> Iterator:
    """The stream's frames as FFmpeg decodes them; a damaged file becomes a one-line BadImage."""
    av = _av()
    index = 0
    try:
        for frame in container.decode(stream):
            index += 1
            yield frame
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise BadImage(f"Frame {index + 1} of the video '{path}' cannot be decoded ({_reason(exc)}): "
                       "the file is damaged; re-export it.") from None


def probe(path) -> VideoInfo:
    """Frame rate, size and (if the header says) frame count, decoding only the first frame."""
    path = Path(path).expanduser()
    container, stream = _open(path)
    try:
        first = next(_decoded(path, container, stream), None)
        if first is None:
            raise BadImage(f"The video '{path}' has no frames: give a video with at least two frames.")
        _check_size(path, first.width, first.height)
        return VideoInfo(path, _fps(stream), first.width, first.height, stream.frames or None)
    finally:
        container.close()


def check_video(path, least: int = 2) -> VideoInfo:
    """Decode the whole video once (no frame kept) so a bad one is refused before any work.

    Refuses, in one line: not a video, a damaged frame, fewer than ``least`` frames, frames
    that change size. Costs one decoding pass (seconds for minutes of HD video, against
    seconds to minutes of styling per frame), and gives the exact frame count.
    """
    path = Path(path).expanduser()
    container, stream = _open(path)
    try:
        count, size = 0, None
        for frame in _decoded(path, container, stream):
            count += 1
            if size is None:
                size = (frame.width, frame.height)
                _check_size(path, *size)
            elif (frame.width, frame.height) != size:
                raise BadImage(f"Frame {count} of the video '{path}' is {frame.width}×{frame.height} px but frame 1 is "
                               f"{size[0]}×{size[1]}: give a video whose frames are all one size.")
        if count == 0:
            raise BadImage(f"The video '{path}' has no frames: give a video with at least {least} frames.")
        if count < least:
            raise BadImage(f"The video '{path}' has only {count} frame{'s' if count != 1 else ''}: an animation needs at "
                           f"least {least}; style a single picture with python -m nst_core IMAGE STYLE -o OUT.png.")
        return VideoInfo(path, _fps(stream), size[0], size[1], count)
    finally:
        container.close()


def read_frames(path) -> Iterator[np.ndarray]:
    """The video's frames in order as H×W×3 uint8 RGB arrays, decoded one at a time.

    A generator: nothing is opened until the first frame is asked for, and only the frame
    being handed out (plus FFmpeg's few reference frames) is in memory. Raises a one-line
    :class:`BadImage` for a file that is not a video or is damaged.
    """
    path = Path(path).expanduser()
    container, stream = _open(path)
    try:
        for frame in _decoded(path, container, stream):
            yield frame.to_ndarray(format="rgb24")
    finally:
        container.close()


def encoder_for(path) -> str:
    """The encoder this machine's FFmpeg has for ``path``'s extension, or a one-line BadImage."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_CODECS:
        raise BadImage(f"Cannot write a video as '{path.name}': use a {_WRITABLE} name "
                       "(or a folder name for one picture per frame).")
    available = _av().codecs_available
    for codec in OUTPUT_CODECS[suffix]:
        if codec in available:
            return codec
    raise BadImage(f"This PyAV's FFmpeg has no encoder for '{suffix}' ({' or '.join(OUTPUT_CODECS[suffix])}): "
                   f"choose another of {_WRITABLE}, or reinstall PyAV from PyPI.")


def _palette_frame(av, rgb: np.ndarray):
    """A GIF frame: the frame's own 256-colour palette (Pillow's median cut), not FFmpeg's fixed 3-3-2 one."""
    from PIL import Image

    paletted = Image.fromarray(rgb, "RGB").quantize(256)
    colours = np.asarray(paletted.getpalette(), np.uint8).reshape(-1, 3)[:256]
    argb = np.zeros((256, 4), np.uint8)  # PyAV takes the palette as A, R, G, B
    argb[:, 0] = 255
    argb[: len(colours), 1:] = colours
    return av.VideoFrame.from_ndarray((np.asarray(paletted), argb), format="pal8")


class VideoWriter:
    """Encode RGB frames one at a time into ``path`` (.mp4, .webm or .gif) at ``fps`` and ``size``.

    The file is created at the first :meth:`write`, so nothing exists before a frame is ready;
    :meth:`abort` (or leaving a ``with`` block by an exception, e.g. a cancelled run) removes
    a partial file. Frames of another size are scaled to ``size`` (width, height).
    """

    def __init__(self, path, fps: Fraction, size: Tuple[int, int]):
        self.path = Path(path).expanduser()
        self.codec = encoder_for(self.path)
        self.fps = Fraction(fps).limit_denominator(1001 * 1000)
        if self.codec == "gif":  # GIF stores each frame's delay in 1/100 s: 30 fps plays at 1/0.03 = 33.3 fps
            self.fps = Fraction(100, max(2, round(100 / self.fps)))  # (browsers slow delays under 2/100 s down)
        self.size = (int(size[0]), int(size[1]))
        # H.264 / MPEG-4 in yuv420p store colour at half resolution, so both sides must be even: an odd
        # side is padded by one pixel (the last row or column repeated), and the video is 1 px larger there.
        if self.codec in ("libx264", "mpeg4"):
            self.encoded_size = (self.size[0] + self.size[0] % 2, self.size[1] + self.size[1] % 2)
        else:  # VP8/VP9 take odd sides; GIF is paletted
            self.encoded_size = self.size
        self.frames = 0
        self._container = None
        self._stream = None
        self._started = False  #: the file was created by this writer (so abort may remove it)

    def _start(self) -> None:
        av = _av()
        self._started = True
        try:
            self._container = av.open(str(self.path), "w")
            stream = self._container.add_stream(self.codec, rate=self.fps)
            stream.width, stream.height = self.encoded_size
            stream.pix_fmt = "pal8" if self.codec == "gif" else "yuv420p"
            stream.options = dict(_ENCODER_OPTIONS.get(self.codec, {}))
            self._stream = stream
            self._container.start_encoding()  # the header now, so the file exists from the first frame on
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise BadImage(f"Cannot write the video '{self.path}' ({_reason(exc)}): choose a folder you can write to.") from None

    def write(self, rgb: np.ndarray) -> None:
        """Add one frame: H×W×3 uint8 RGB (or floats in 0–1)."""
        if rgb.dtype != np.uint8:
            rgb = np.round(np.clip(rgb, 0, 1) * 255.0).astype(np.uint8)
        rgb = np.ascontiguousarray(rgb[..., :3])
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            from PIL import Image

            rgb = np.asarray(Image.fromarray(rgb, "RGB").resize(self.size, Image.LANCZOS))
        if self.encoded_size != self.size:
            rgb = np.pad(rgb, ((0, self.encoded_size[1] - self.size[1]), (0, self.encoded_size[0] - self.size[0]), (0, 0)),
                         mode="edge")
        if self._container is None:
            self._start()
        av = _av()
        frame = _palette_frame(av, rgb) if self.codec == "gif" else av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self.frames
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise BadImage(f"Cannot write the video '{self.path}' ({_reason(exc)}): check the disk has room.") from None
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        if self._container is None:
            return
        av = _av()
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise BadImage(f"Cannot finish the video '{self.path}' ({_reason(exc)}): check the disk has room.") from None
        self._container = None

    def abort(self) -> None:
        """Stop and remove the partial file (nothing is left behind)."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # closing a half-written file may fail in FFmpeg's own ways; it is removed anyway
                pass
            self._container = None
        if self._started:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
