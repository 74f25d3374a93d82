"""The names both editors share: which painting a region's name asks for, and what a result
layer is called.

Why a module of its own: a Krita selection mask or group layer, or a GIMP channel, names the
painting of its region ("starry_night" → starry_night.jpg), and a result is named after its
source and painting in both editors; a painter who uses both must meet one rule. Their GUI
side has no torch, so it lives here, torch-free.
"""
from __future__ import annotations

import os
import re
from typing import List, Optional

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
#: a result layer is named RESULT_PREFIX + "<layer> (<painting>)"
RESULT_PREFIX = "Styled – "
#: an earlier result's name after the prefix: "<layer> (<paintings>)", maybe with GIMP's " #1"
_EARLIER = re.compile(r"^(?P<layer>.*) \((?P<styles>[^()]*)\)(?: #\d+)?$")


def result_name(layer_name: str, style_label: str) -> str:
    """``Styled – <layer> (<painting>)``. Styling a result again names both paintings —
    ``Styled – <layer> (<first>, then <second>)`` — never ``Styled – Styled – …``."""
    if layer_name.startswith(RESULT_PREFIX):
        rest = layer_name[len(RESULT_PREFIX):]
        earlier = _EARLIER.match(rest)
        if earlier:
            return f"{RESULT_PREFIX}{earlier['layer']} ({earlier['styles']}, then {style_label})"
        return f"{RESULT_PREFIX}{rest} ({style_label})"
    return f"{RESULT_PREFIX}{layer_name} ({style_label})"


def is_result_of(name: str, source_name: str) -> bool:
    """``name`` is that of a result of the layer called ``source_name`` (any painting)."""
    return name.startswith(result_name(source_name, "\0").split("\0")[0])


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
