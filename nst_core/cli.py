"""``python -m nst_core``: style an image file from the command line.

Every failure a user can cause ends with one line on stderr and exit status 2 (bad
arguments) or 1 (the run failed), never a traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from .config import PRESETS, StyleConfig
from .errors import Cancelled, NSTError

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
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m nst_core",
        description="Re-paint CONTENT in the style of one or more STYLE paintings (Gatys et al. 2015).",
    )
    parser.add_argument("images", nargs="*", metavar="CONTENT STYLE [STYLE ...]", help="content image, then style image(s)")
    parser.add_argument("-o", "--output", help="where to save the result (PNG, JPEG, ...)")
    parser.add_argument("--preset", default="balanced", choices=list(PRESETS), help="starting settings (default: balanced)")
    parser.add_argument("--size", type=_positive_int, help="long side of the working image in px")
    parser.add_argument("--steps", type=_positive_int, help="optimisation steps per scale")
    parser.add_argument("--scales", type=_positive_int, help="coarse-to-fine levels, √2 apart (1 = single scale)")
    parser.add_argument("--style-weight", type=_number, help="β, the weight of the style loss")
    parser.add_argument("--content-weight", type=_number, help="α, the weight of the content loss")
    parser.add_argument("--tv-weight", type=_number, help="total-variation (smoothness) weight")
    parser.add_argument("--style-blend", type=_number, nargs="+", metavar="W", help="one weight per style image")
    parser.add_argument("--init", help="start from: noise, content, or an image FILE")
    parser.add_argument("--optimizer", choices=["lbfgs", "adam"])
    parser.add_argument("--pooling", choices=["avg", "max"])
    parser.add_argument("--preserve-colors", choices=["luminance", "histogram"])
    parser.add_argument("--style-scale", type=_number, help="style image size relative to the working size")
    parser.add_argument("--seed", type=int, help="random seed; the same seed gives the same image")
    parser.add_argument("--device", help="auto (default), cpu, cuda or mps")
    parser.add_argument("--weights", help="a VGG19 weights file to use instead of the default")
    parser.add_argument("--download-weights", action="store_true", help="download torchvision's VGG19 weights and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


_OVERRIDES = ("size", "steps", "scales", "style_weight", "content_weight", "tv_weight", "style_blend", "init",
              "optimizer", "pooling", "preserve_colors", "style_scale", "seed", "device", "weights")


def config_from_args(args: argparse.Namespace) -> StyleConfig:
    """The preset with every option the user gave applied on top."""
    overrides = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name) is not None}
    overrides["output_size"] = "working"  # --size N means an N px picture, as in neural-style
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
        remaining = p.elapsed / p.step * (p.total - p.step)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {p.step}/{p.total} scale {p.scale}/{p.scales} "
            f"{p.size[1]}×{p.size[0]}  loss {p.loss:.3g}  {remaining:.0f}s left "
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


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.download_weights:
            return _download(args.quiet)
        if len(args.images) < 2:
            raise _UsageError("give a content image and at least one style image")
        if not args.output:
            raise _UsageError("give the output file with -o OUT.png")
        output = Path(args.output).expanduser()
        if not output.parent.is_dir():
            raise _UsageError(f"the output folder '{output.parent}' does not exist")
        config = config_from_args(args)
        from .engine import stylize  # torch is imported only once the arguments are fine

        started = time.perf_counter()
        result = stylize(args.images[0], args.images[1:], config, progress=_ProgressBar(not args.quiet))
        try:
            result.to_pil().save(output)
        except (OSError, ValueError) as exc:
            raise _UsageError(f"could not save '{output}' ({exc}); use a .png or .jpg name in a writable folder") from None
        height, width = result.image.shape[:2]
        print(f"saved {output} ({width}×{height}) in {time.perf_counter() - started:.1f} s: "
              f"{result.steps} steps on {result.device}, seed {result.seed}")
        return 0
    except _UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_ARGUMENTS
    except NSTError as exc:
        sys.stderr.write(f"\nerror: {exc}\n")
        return EXIT_RUN_FAILED
    except Cancelled:
        sys.stderr.write("\ncancelled\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("\ncancelled\n")
        return 130


class _UsageError(Exception):
    pass
