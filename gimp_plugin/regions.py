"""Regions in GIMP: different paintings in different parts of a layer (issue 21, finding 16).

Why this module exists: a GIMP painter says "here" with the selection and with saved
selections (the channels of the Channels dialog). This turns them into the engine's masks,
one per painting (``nst_core.stylize(..., masks=[...])``, read by the worker), as the Krita
plug-in's plugin/regions.py does with selections and selection masks, and finds each channel's
painting by its name with the same rule. GIMP side: stdlib and PyGObject only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional

from . import messages, pixels

#: the procedure's choices (the Krita dialog's, with channels for Krita's selection masks): key, label
MODES = (
    ("none", "One painting everywhere"),
    ("selection_two", "Selection gets this painting, the rest a second one"),
    ("selection_keep", "Selection gets this painting, the rest stays as it is"),
    ("channels", "Each saved selection (channel) gets the painting it is named after"),
)
#: in :attr:`Plan.masks`: the image's selection
SELECTION = "selection"


@dataclass
class Plan:
    """One painting per region: ``paintings`` are file paths, or None for the chosen painting
    (a file or a layer); ``masks`` the selection, a channel, or None for "the rest";
    ``keep``: the result is cut to the selection, so the rest stays as it is."""

    paintings: List[Optional[str]]
    masks: list
    keep: bool = False


def painting_for(name: str, main_style: Optional[str], recent: List[str]) -> str:
    """The painting a channel named ``name`` asks for (nst_core.paintings' rule, Krita's too)."""
    from nst_core import paintings  # torch-free

    path = paintings.named(name, main_style, recent)
    if path is None:
        raise messages.no_painting_for_channel(name)
    return path


def plan(image, mode: str, main_style: Optional[str], second: Optional[str], recent: List[str]) -> Optional[Plan]:
    """The regions of ``mode`` (a key of MODES) in ``image``, or None for one painting
    everywhere; PluginError in plain words for what cannot be done."""
    if mode not in dict(MODES) or mode == "none":
        return None
    if mode in ("selection_two", "selection_keep"):
        if pixels.selection_rect(image) is None:
            raise messages.regions_need_selection()
        if mode == "selection_keep":
            return Plan([None], [SELECTION], keep=True)
        if not second:
            raise messages.no_second_painting()
        if not os.path.isfile(os.path.expanduser(second)):
            raise messages.style_file_missing(second)
        return Plan([None, os.path.expanduser(second)], [SELECTION, None])
    channels = list(image.get_channels())
    if not channels:
        raise messages.no_channels()
    return Plan([painting_for(c.get_name(), main_style, recent) for c in channels], channels)


def read_masks(image, regions: Plan, rect: pixels.Rect) -> list:
    """Each region's strength over ``rect`` as H×W float32 bytes (None for "the rest")."""
    masks = []
    for mask in regions.masks:
        if mask is None:
            masks.append(None)
        elif mask == SELECTION:
            masks.append(pixels.read_selection(image, rect))
        else:
            masks.append(pixels.read_channel(mask, rect))
    return masks
