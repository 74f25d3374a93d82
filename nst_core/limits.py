"""Size limits checked before anything big is decoded or allocated.

One pixel budget, :data:`MAX_PIXELS`, for every image a run reads — content, style and
init, whether a file or a layer — checked from the file's header (Pillow reads only the
header on ``Image.open``) or from the layer's bounds before a single pixel is decoded.
A 481 KB PNG can claim 13000×13000 px and would take gigabytes to decode: it is refused
in one plain sentence naming its size and the limit instead.

Imports only Pillow (never torch), so front ends can call it on their GUI thread.
"""
from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Tuple

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import BadImage

#: the shortest side the engine styles: smaller images are refused (the editors pad tiny areas up to it)
MIN_SIDE = 16
#: the most pixels an input image may have (8192 × 8192, 64 megapixels)
MAX_PIXELS = 8192 * 8192
#: the longest side the budget allows for a square image, for messages
MAX_SIDE = 8192

#: a working size may exceed the layer's long side by this factor (bigger only costs time) …
MAX_UPSCALE = 2.0
#: … or be up to this many px, whichever is larger
UPSCALE_FLOOR = 512

_PILLOW_LOCK = threading.Lock()


def _megapixels(pixels: int) -> str:
    value = pixels / 1e6
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def too_big_message(width: int, height: int, what: str, path=None) -> str:
    named = f"The {what} '{path}'" if path is not None else f"The {what}"
    return (f"{named} is {width}×{height} px ({_megapixels(width * height)} megapixels), more than the "
            f"limit of {MAX_SIDE}×{MAX_SIDE} px ({_megapixels(MAX_PIXELS)} megapixels): "
            "scale it down or crop it, then try again.")


def check_pixels(width: int, height: int, what: str = "image", path=None) -> None:
    """Raise :class:`BadImage` if ``width`` × ``height`` is over the pixel budget."""
    if int(width) * int(height) > MAX_PIXELS:
        raise BadImage(too_big_message(int(width), int(height), what, path))


def _check_path(path: Path, what: str) -> None:
    if not path.exists():
        raise BadImage(f"The {what} '{path}' does not exist: check the path.")
    if path.is_dir():
        raise BadImage(f"'{path}' is a folder, not an image: give an image file.")


def unreadable_reason(exc: BaseException) -> Tuple[str, str]:
    """(what is wrong, what to do) for a file Pillow could not read, in a painter's words —
    never the exception's class name."""
    if isinstance(exc, UnidentifiedImageError):
        return "it is not an image, or not in a format that can be read", "use a PNG, JPEG or other common image file"
    if isinstance(exc, PermissionError):
        return "you do not have permission to read it", "choose another file or change its permissions"
    if isinstance(exc, Image.DecompressionBombError):
        return "it claims a size too large to decode safely", "scale it down in an image editor or choose another file"
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        return f"the system reports: {exc.strerror.lower()}", "copy it again or choose another file"
    # truncated data, a broken header or chunk: Pillow's OSError, SyntaxError or ValueError
    return ("the file is damaged or incomplete",
            "open it in an image editor and save it again, or choose another file")


def _unreadable(path: Path, exc: BaseException, what: str) -> BadImage:
    reason, fix = unreadable_reason(exc)
    return BadImage(f"The {what} '{path}' could not be read: {reason}. {fix[0].upper()}{fix[1:]}.")


def _open_header(path: Path, what: str) -> Image.Image:
    """``Image.open`` (header only) without Pillow's own bomb warning or error: we check ourselves."""
    with _PILLOW_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                return Image.open(path)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise _unreadable(path, exc, what) from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def image_file_size(path: "str | os.PathLike", what: str = "image") -> Tuple[int, int]:
    """(width, height) from the file's header, without decoding; BadImage if unreadable."""
    path = Path(path).expanduser()
    _check_path(path, what)
    with _open_header(path, what) as opened:
        return opened.size


def check_image_file(path: "str | os.PathLike", what: str = "image") -> Tuple[int, int]:
    """The file's (width, height), after checking it exists, is an image and is within budget."""
    width, height = image_file_size(path, what)
    check_pixels(width, height, what, Path(path).expanduser())
    return width, height


def open_image(path: "str | os.PathLike", what: str = "image") -> Image.Image:
    """Decode an image file (EXIF orientation applied) after its header passed the budget."""
    path = Path(path).expanduser()
    _check_path(path, what)
    opened = _open_header(path, what)
    try:
        check_pixels(*opened.size, what, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened.load()
            return ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _unreadable(path, exc, what) from None
    finally:
        opened.close()


def thumbnail(path: "str | os.PathLike", size: int) -> Image.Image:
    """A small RGBA copy of an image file, decoded at reduced size where the format allows.

    JPEG is decoded at 1/2–1/8 scale by ``draft``; other formats are decoded once and
    shrunk with ``reduce``. Files over the pixel budget are refused from the header
    (BadImage), so a thumbnail never costs more than the budget's memory.
    """
    path = Path(path).expanduser()
    _check_path(path, "style image")
    opened = _open_header(path, "style image")
    try:
        check_pixels(*opened.size, "style image", path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened.draft("RGB", (size * 2, size * 2))
            image = ImageOps.exif_transpose(opened)
            factor = max(1, min(image.size) // (size * 2))
            if factor > 1:
                image = image.reduce(factor)
            image = image.convert("RGBA")
            image.thumbnail((size, size), Image.LANCZOS)
            return image
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _unreadable(path, exc, "style image") from None
    finally:
        opened.close()


def working_size_cap(height: int, width: int) -> int:
    """The largest useful working size (long side, px) for a result the size of ``height`` × ``width``.

    Styling a 96-px layer at 8192 px only costs time and gigabytes, since the result is
    scaled back to 96 px: the working size may exceed the layer's long side by
    :data:`MAX_UPSCALE` (finer brush strokes), or reach :data:`UPSCALE_FLOOR`.
    """
    return max(UPSCALE_FLOOR, int(round(MAX_UPSCALE * max(int(height), int(width)))))
