"""Which painting a region's name asks for: the naming rule both editors share.

Why a module of its own: a Krita selection mask or group layer, or a GIMP channel, names the
painting of its region ("starry_night" → starry_night.jpg), and a painter who uses both editors
must meet one rule. Their GUI side has no torch, so it lives here, torch-free.
"""
from __future__ import annotations

import os
from typing import List, Optional

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


def named(name: str, main_style: Optional[str], recent: List[str]) -> Optional[str]:
    """A recent painting, or an image file in the main painting's folder, whose file name without
    its extension is ``name`` (case and spaces around it ignored); failing that, ``name`` itself
    when it is the path of a file; else None."""
    wanted = name.strip().lower()
    candidates = list(recent)
    folder = os.path.dirname(main_style) if main_style else ""
    if folder and os.path.isdir(folder):
        candidates += [os.path.join(folder, f) for f in sorted(os.listdir(folder))]
    for path in candidates:
        stem, suffix = os.path.splitext(os.path.basename(path))
        if stem.lower() == wanted and suffix.lower() in IMAGE_SUFFIXES and os.path.isfile(path):
            return path
    written = os.path.expanduser(name.strip())
    return written if os.path.isfile(written) else None
