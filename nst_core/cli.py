"""``python -m nst_core``: style an image file, a folder of frames or a video file from the command line.

Every failure a user can cause ends with one line on stderr and exit status 2 (bad
arguments) or 1 (the run failed), never a traceback; Ctrl-C at any moment (even while
torch loads) ends with "cancelled" and status 130.

Everything that can be checked before the run is checked before torch is even loaded:
the arguments, the output (a writable folder, an image format Pillow can write, whether
that format can hold the result's transparency — if not, the result is flattened onto
white with a note), and every input image's header (readable, within the pixel budget of
nst_core/limits.py). The memory check (nst_core/memory.py) runs before the first step.
An animation's input is checked whole before torch loads too: every frame file's header, or
a video decoded once (nst_core/video.py); then frames are styled and written one at a time.
"""
from __future__ import annotations

import argparse
import io
import math
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

from .config import DEFAULT_PRESET, FINISH_AT_CONTENT, INIT_CHOICES, PRESET_HINTS, PRESETS, PRINTED_SUMS  # torch-free
from .errors import Cancelled, NSTError

MAX_SEED = 2**32 - 1

EXIT_RUN_FAILED = 1
EXIT_BAD_ARGUMENTS = 2


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line instead of usage plus an error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_ARGUMENTS, f"error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be 1 or more")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number: give one such as 1e-4")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"'{text}' is out of range: use 0 to {MAX_SEED}")
    return value


def _fps(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"'{text}' is not a frame rate: give one such as 25 or 30000/1001") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"'{text}' is out of range: give a frame rate above 0 and up to 1000")
    return value


def _finish_size(text: str):
    if text == "content":
        return text
    return _positive_int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m nst_core",
        description="Re-paint CONTENT in the style of one or more STYLE paintings (Gatys et al. 2015). CONTENT may also "
                    "be a folder of frames (sorted by name) or a video file (.mp4, .webm, .gif, ...): it is styled as one "
                    "animation, to -o OUT_DIR (one picture per frame) or -o OUT.mp4|OUT.webm|OUT.gif (the input video's "
                    "frame rate and size), with every option below.",
    )
    parser.add_argument("images", nargs="*", metavar="CONTENT STYLE [STYLE ...]", help="content image, then style image(s)")
    parser.add_argument("-o", "--output", help="where to save the result (PNG, JPEG, ...); for an animation a folder "
                                                "or a .mp4, .webm or .gif video")
    parser.add_argument("--preset", default=DEFAULT_PRESET, metavar="{" + ",".join(PRESETS) + "}",
                        help="starting settings: " + "; ".join(f"{name}: {hint}" for name, hint in PRESET_HINTS.items()))
    parser.add_argument("--size", type=_positive_int, help="long side of the working image in px")
    parser.add_argument("--finish-size", type=_finish_size, metavar="N|content",
                        help="go on coarse-to-fine above --size up to N px (content = the photo's own size), "
                             "a few steps each: sharp at that size")
    parser.add_argument("--steps", type=_positive_int, help="optimisation steps per scale")
    parser.add_argument("--scales", type=_positive_int, help="coarse-to-fine levels, √2 apart (1 = single scale)")
    parser.add_argument("--style-weight", type=_number, help="β, the weight of the style loss")
    parser.add_argument("--content-weight", type=_number, help="α, the weight of the content loss")
    parser.add_argument("--tv-weight", type=_number, help="total-variation (smoothness) weight")
    parser.add_argument("--palette-weight", type=_number, help="weight of the palette term (0 = Gram matrices only)")
    parser.add_argument("--style-blend", type=_number, nargs="+", metavar="W", help="one weight per style image")
    parser.add_argument("--printed-sums", action="store_true",
                        help="the losses exactly as printed in the paper (½Σ content, E_l with 4N²M²); on the "
                             "normalised network these leave the photo nearly unstyled (see README)")
    parser.add_argument("--init", help=f"start from: {', '.join(INIT_CHOICES)}, or an image FILE")
    parser.add_argument("--optimizer", choices=["lbfgs", "adam"])
    parser.add_argument("--pooling", choices=["avg", "max"])
    parser.add_argument("--preserve-colors", choices=["luminance", "histogram"])
    parser.add_argument("--style-scale", type=_number, help="style image size relative to the working size")
    parser.add_argument("--seed", type=_seed, help="random seed; the same seed gives the same image")
    parser.add_argument("--device", help="auto (default), cpu, cuda or mps")
    parser.add_argument("--weights", help="a VGG19 weights file to use instead of the default")
    parser.add_argument("--download-weights", action="store_true", help="download torchvision's VGG19 weights and exit")
    parser.add_argument("--style-masks", nargs="+", metavar="MASK",
                        help="regions: one greyscale image per style, white where that style goes ('-' = no mask: "
                             "that style paints the rest; with every style masked the rest keeps the photo's look)")
    parser.add_argument("--painting-masks", nargs="+", metavar="MASK",
                        help="one greyscale image per style, white on the part of the painting to learn from ('-' = all)")
    parser.add_argument("--independent", action="store_true",
                        help="with a folder of frames or a video: style each frame alone (flickers; for comparison)")
    parser.add_argument("--fps", type=_fps, metavar="RATE",
                        help="frame rate of a video written from a folder of frames (default 25); a video input keeps "
                             "its own unless this is given")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


_OVERRIDES = ("size", "finish_size", "steps", "scales", "style_weight", "content_weight", "tv_weight", "palette_weight", "style_blend", "init",
              "optimizer", "pooling", "preserve_colors", "style_scale", "seed", "device", "weights")


def config_from_args(args: argparse.Namespace, output_size: str = "working"):
    """The preset with every option the user gave applied on top (imports torch).

    ``output_size`` "working": --size N means an N px picture, as in neural-style; "content":
    the result at the input's size (a video keeps its size).
    """
    from .config import StyleConfig

    if args.preset not in PRESETS:
        raise _UsageError(f"argument --preset: invalid choice: '{args.preset}' (choose from {', '.join(PRESETS)})")
    overrides = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name) is not None}
    if args.printed_sums:
        overrides.update(PRINTED_SUMS)
    if overrides.get("finish_size") == "content":
        overrides["finish_size"] = FINISH_AT_CONTENT
    overrides["output_size"] = output_size
    return StyleConfig.from_preset(args.preset, **overrides)


class _ProgressBar:
    """A one-line bar on stderr, redrawn in place."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr is not None

    def __call__(self, p) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * p.step / p.total)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {p.step}/{p.total} scale {p.scale}/{p.scales} "
            f"{p.size[1]}×{p.size[0]}  loss {p.loss:.3g}  {p.remaining or 0:.0f}s left "
        )
        sys.stderr.flush()
        if p.step == p.total:
            sys.stderr.write("\n")


def _download(quiet: bool) -> int:
    from .weights import download_torchvision_weights

    def report(done: int, total: int) -> None:
        if not quiet:
            sys.stderr.write(f"\rdownloading VGG19 weights: {done / 1e6:.0f}/{total / 1e6:.0f} MB")

    path = download_torchvision_weights(progress=report)
    print(f"\nsaved torchvision's VGG19 weights to {path}")
    return 0


@dataclass
class _Output:
    path: Path
    format: str
    flatten: bool  #: the content has transparency the format cannot store


def _has_alpha(path: str) -> bool:
    """Whether the engine will give the result of this content image an alpha channel."""

    from .limits import _open_header

    with _open_header(Path(path).expanduser(), "content image") as image:
        if image.mode in ("RGBA", "LA"):
            return True
        if image.mode in ("RGB", "L") or image.mode.startswith("I"):
            return False
        return "A" in image.getbands() or "transparency" in image.info


def _format_accepts(fmt: str, mode: str) -> bool:
    from PIL import Image

    try:
        Image.new(mode, (1, 1)).save(io.BytesIO(), format=fmt)
        return True
    except Exception:  # each Pillow plugin refuses in its own way
        return False


def _check_writable(output: Path) -> None:
    """Refuse an output whose folder is missing or not writable, or a file that cannot be replaced."""
    folder = output.parent
    if not folder.is_dir():
        raise _UsageError(f"the output folder '{folder}' does not exist: create it or choose another one")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".nst-write-test-"):
            pass
        if output.exists():
            with open(output, "ab"):
                pass
    except OSError as exc:
        reason = f" ({exc.strerror.lower()})" if exc.strerror else ""
        raise _UsageError(f"cannot write '{output}'{reason}: choose a folder you can write to") from None


def check_output(name: str, content: Optional[str]) -> _Output:
    """Refuse, before any work, an output the result could not be saved to (``content``: None for a video frame)."""
    from PIL import Image

    output = Path(name).expanduser()
    if output.is_dir():
        raise _UsageError(f"the output '{output}' is a folder: give a file name such as {output / 'styled.png'}")
    _check_writable(output)
    Image.init()
    fmt = Image.registered_extensions().get(output.suffix.lower())
    if not output.suffix or fmt is None or fmt not in Image.SAVE or not _format_accepts(fmt, "RGB"):
        raise _UsageError(f"cannot save an image as '{output.name}': use a .png, .jpg, .webp or .tif name")
    flatten = content is not None and _has_alpha(content) and not _format_accepts(fmt, "RGBA")
    return _Output(output, fmt, flatten)


def _check_inputs(args: argparse.Namespace) -> None:
    """Every input image readable and within the pixel budget, from its header only."""
    from .limits import check_image_file

    check_image_file(args.images[0], "content image")
    for index, style in enumerate(args.images[1:], start=1):
        check_image_file(style, "style image" if len(args.images) == 2 else f"style image {index}")
    if args.init and args.init not in INIT_CHOICES:
        check_image_file(args.init, "init image")
    styles = len(args.images) - 1
    for option, what in (("style_masks", "style mask"), ("painting_masks", "painting mask")):
        masks = getattr(args, option) or []
        if masks and len(masks) != styles:
            raise _UsageError(f"{len(masks)} {what}{'s' if len(masks) != 1 else ''} for {styles} style image{'s' if styles != 1 else ''}: give one "
                              f"--{option.replace('_', '-')} image per style, '-' for none")
        for index, mask in enumerate(masks, start=1):
            if mask != "-":
                check_image_file(mask, f"{what} {index}")


def _save(result, target: _Output) -> Path:
    """Save the result; if that fails after all, save it in the temp folder instead of losing it."""
    image = result.to_pil()
    if target.flatten and image.mode == "RGBA":
        from PIL import Image

        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(image, mask=image.getchannel("A"))
        image = white
    try:
        image.save(target.path, format=target.format)
        return target.path
    except (OSError, ValueError) as exc:
        rescue = Path(tempfile.gettempdir()) / f"{target.path.stem}-{os.getpid()}.png"
        try:
            result.to_pil().save(rescue)
        except (OSError, ValueError):
            raise _RunError(f"could not save '{target.path}' ({exc}) nor a copy in {rescue.parent}") from None
        raise _RunError(f"could not save '{target.path}' ({exc}); the result was saved as {rescue} instead") from None


def _frame_files(folder: Path) -> tuple:
    """(the folder's frames sorted by name, their size), after checking each is readable and all are one size."""
    from PIL import Image

    from .limits import check_image_file

    Image.init()
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in Image.registered_extensions())
    if not files:
        raise _UsageError(f"the folder '{folder}' holds no image frames: put the frames (PNG, JPEG, ...) in it")
    if len(files) == 1:
        raise _UsageError(f"the folder '{folder}' holds only one frame ('{files[0].name}'): an animation needs at least "
                          "two; style a single picture with python -m nst_core IMAGE STYLE -o OUT.png")
    first = check_image_file(files[0], f"frame '{files[0].name}'")
    for path in files[1:]:
        size = check_image_file(path, f"frame '{path.name}'")
        if size != first:
            raise _UsageError(f"frame '{path.name}' is {size[0]}×{size[1]} px but '{files[0].name}' is "
                              f"{first[0]}×{first[1]}: give frames of one size")
    return files, first


def _is_clip(args: argparse.Namespace) -> bool:
    """Whether CONTENT is an animation: a folder of frames, or a video file (a .gif only when the output is a
    video or a folder, since a .gif is also a picture)."""
    from . import video

    content = Path(args.images[0]).expanduser()
    if content.is_dir():
        return True
    if not video.is_video_name(content):
        return False
    if content.suffix.lower() != ".gif":
        return True
    output = Path(args.output).expanduser() if args.output else None
    return output is None or output.is_dir() or not output.suffix or video.is_video_name(output)


def _check_video_output(output: Path) -> str:
    """The encoder for an output video, after checking its folder can be written to (nothing is created)."""
    from . import video
    from .errors import BadImage

    if output.is_dir():
        raise _UsageError(f"the output '{output}' is a folder: give a video name such as {output / 'styled.mp4'}")
    try:
        codec = video.encoder_for(output)
    except BadImage as exc:
        raise _UsageError(str(exc)[0].lower() + str(exc)[1:].rstrip(".")) from None
    _check_writable(output)
    return codec


def _opaque_frame(result):
    """The styled frame as uint8 RGB for a video (which has no transparency: alpha is flattened onto white)."""
    import numpy as np

    image = np.clip(result.image, 0, 1)
    if image.shape[2] == 4:
        alpha = image[..., 3:]
        image = image[..., :3] * alpha + (1 - alpha)
    return np.round(image[..., :3] * 255.0).astype(np.uint8)


def _animate(args: argparse.Namespace) -> int:
    """A folder of frames or a video file styled as one animation, saved as a folder of frames (the same
    names, or frame_00001.png … for a video) or as a video file at the input's frame rate and size."""
    from . import video

    source = Path(args.images[0]).expanduser()
    if not args.output:
        raise _UsageError("give the output with -o OUT_DIR (one picture per frame) or -o OUT.mp4, OUT.webm or OUT.gif")
    output = Path(args.output).expanduser()
    to_video = video.is_video_name(output) and not output.is_dir()
    if to_video:
        if output.exists() and source.exists() and output.resolve() == source.resolve():
            raise _UsageError("the output is the input video: give another name, so the input is kept")
        _check_video_output(output)
    else:
        if source.is_file() and output.suffix and not output.exists():
            raise _UsageError(f"cannot write the styled video as '{output.name}': use a .mp4, .webm or .gif name, "
                              "or a folder name for one picture per frame")
        if output.exists() and not output.is_dir():
            raise _UsageError(f"the output '{output}' is a file: give a folder for the styled frames or a video name")
        if output.resolve() == source.resolve():
            raise _UsageError("the output folder is the frames' folder: give another one, so the frames are kept")
    if source.is_dir():
        files, (width, height) = _frame_files(source)
        frames, count, fps = [str(p) for p in files], len(files), args.fps or video.DEFAULT_FPS
        names = [p.name for p in files]
    else:
        info = video.check_video(source)  # decoded once here, so a bad video is refused before torch loads
        frames, count, fps = video.read_frames(source), info.frames, args.fps or info.fps  # read again, lazily
        width, height = info.width, info.height
        digits = max(5, len(str(count)))
        names = [f"frame_{index:0{digits}d}.png" for index in range(1, count + 1)]
        files = [None] * count
    from .limits import check_image_file

    for index, style in enumerate(args.images[1:], start=1):
        check_image_file(style, "style image" if len(args.images) == 2 else f"style image {index}")
    writer = None
    if to_video:
        writer = video.VideoWriter(output, fps, (width, height))  # creates the file only at the first frame
        if writer.encoded_size != writer.size:
            sys.stderr.write(f"note: {writer.codec} needs even sides, so '{output.name}' will be "
                             f"{writer.encoded_size[0]}×{writer.encoded_size[1]} (the last row or column repeated)\n")
        targets = []
    else:
        targets = [check_output(str(output / name), None if path is None else str(path)) if output.is_dir() else None
                   for name, path in zip(names, files)]
    config = config_from_args(args, "content" if to_video else "working")
    from .animation import stylize_frames

    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt
    started = time.perf_counter()
    bar = _ProgressBar(not args.quiet)
    results = stylize_frames(frames, args.images[1:], config, progress=lambda p: bar(p.step),
                             cancel=_INTERRUPTED.is_set, independent=args.independent, count=count,
                             masks=args.style_masks, style_masks=args.painting_masks)
    try:
        for index, result in enumerate(results):
            if writer is not None:
                writer.write(_opaque_frame(result))
            else:
                if index == 0:
                    output.mkdir(parents=True, exist_ok=True)  # only once the first frame is styled
                path = files[index]
                target = (targets[index] if targets and targets[index] else
                          check_output(str(output / names[index]), None if path is None else str(path)))
                _save(result, target)
            if not args.quiet:
                sys.stderr.write(f"frame {index + 1}/{count} done\n")
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()  # a cancelled or failed run leaves no partial video behind
        raise
    where = (f"{output} ({writer.codec}, {float(fps):.4g} fps, {writer.encoded_size[0]}×{writer.encoded_size[1]})"
             if writer is not None else str(output))
    print(f"saved {count} frame{'s' if count != 1 else ''} in {where} in {time.perf_counter() - started:.1f} s"
          f"{' (each frame alone)' if args.independent else ''}")
    return 0


def _main(argv: Optional[Sequence[str]]) -> int:
    args = build_parser().parse_args(argv)
    if args.download_weights:
        return _download(args.quiet)
    if len(args.images) < 2:
        raise _UsageError("give a content image and at least one style image")
    if _is_clip(args):
        return _animate(args)
    if not args.output:
        raise _UsageError("give the output file with -o OUT.png")
    _check_inputs(args)
    target = check_output(args.output, args.images[0])
    if target.flatten:
        sys.stderr.write(f"note: {target.format} cannot store transparency, so the result will be flattened "
                         f"onto white (use a .png name to keep it)\n")
    config = config_from_args(args)  # torch is imported only once the arguments and files are fine
    from .engine import stylize

    if _INTERRUPTED.is_set():  # Ctrl-C while torch loaded, its KeyboardInterrupt swallowed by an import
        raise KeyboardInterrupt
    started = time.perf_counter()
    result = stylize(args.images[0], args.images[1:], config, progress=_ProgressBar(not args.quiet),
                     cancel=_INTERRUPTED.is_set, masks=args.style_masks, style_masks=args.painting_masks)
    saved = _save(result, target)
    height, width = result.image.shape[:2]
    print(f"saved {saved} ({width}×{height}) in {time.perf_counter() - started:.1f} s: "
          f"{result.steps} steps on {result.device}, seed {result.seed}")
    for warning in result.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    return 0


#: set by Ctrl-C, so that one never goes unheard: a KeyboardInterrupt raised while torch's libraries
#: load can be swallowed by an ``except`` inside an import (seen once in CI: the run went on to the end)
_INTERRUPTED = threading.Event()


def _on_interrupt(signum, frame) -> None:
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    _INTERRUPTED.clear()
    if threading.current_thread() is not threading.main_thread():
        return _run_main(argv)
    previous = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        return _run_main(argv)
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_main(argv: Optional[Sequence[str]]) -> int:
    try:
        return _main(argv)
    except _UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_ARGUMENTS
    except (NSTError, _RunError) as exc:
        sys.stderr.write(f"\nerror: {exc}\n")
        return EXIT_RUN_FAILED
    except (Cancelled, KeyboardInterrupt):
        sys.stderr.write("\ncancelled\n")
        return 130
    except MemoryError:
        sys.stderr.write("\nerror: the computer ran out of memory: choose a smaller --size or close other programs\n")
        return EXIT_RUN_FAILED


class _RunError(Exception):
    pass


class _UsageError(Exception):
    pass
