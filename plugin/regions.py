"""Regions in Krita: different paintings in different parts of a layer (issue 11).

Why this module exists: Krita already has the tools a painter uses to say "here" —
selections, selection masks, layer alpha. This turns them into the engine's per-style masks
(``nst_core.stylize(..., masks=[...])``; the maths is in nst_core/regions.py) and picks each
region's painting. GUI thread only (it reads the document).
"""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from . import errors, jobs, layers

#: dialog choices: key, label
MODES = (
    ("none", "One painting everywhere"),
    ("selection_two", "Selection gets this painting, the rest a second one"),
    ("selection_keep", "Selection gets this painting, the rest stays as it is"),
    ("masks", "Each selection mask of the layer gets its own painting"),
    ("group", "Each layer of a group gets its own painting"),
)


def _bytes_to_mask(data: bytes, width: int, height: int) -> np.ndarray:
    """Selection / mask bytes (8, 16 bit or float per pixel) as float32 H×W in 0–1."""
    count = width * height
    if len(data) == count:
        values = np.frombuffer(data, np.uint8).astype(np.float32) / 255.0
    elif len(data) == 2 * count:
        values = np.frombuffer(data, np.uint16).astype(np.float32) / 65535.0
    elif len(data) == 4 * count:
        values = np.clip(np.nan_to_num(np.frombuffer(data, np.float32)), 0.0, 1.0)
    else:
        raise errors.UnsupportedLayer("A mask could not be read: use a selection, a selection mask or a layer.")
    return values.reshape(height, width)


def _is_selection(value: Any) -> bool:
    return hasattr(value, "pixelData") and hasattr(value, "width") and not hasattr(value, "uniqueId")


def read_mask(document, mask: Any, rect: layers.Rect) -> Optional[np.ndarray]:
    """One region mask over ``rect`` (float32 H×W in 0–1), or None (that style paints the rest).

    ``mask``: a Krita ``Selection``; a node — a selection or transparency mask gives its
    selection, any other layer its alpha; or an array (any size: stretched over the area
    being styled, as the engine stretches masks over the content).
    """
    if mask is None:
        return None
    if isinstance(mask, np.ndarray) or type(mask).__name__ == "Tensor":
        return mask
    if _is_selection(mask):
        return _bytes_to_mask(bytes(mask.pixelData(*rect.args())), rect.width, rect.height)
    if hasattr(mask, "uniqueId") and hasattr(mask, "pixelData"):
        jobs.check_node(document, mask, "mask")
        if mask.type() in ("selectionmask", "transparencymask"):
            return _bytes_to_mask(bytes(mask.pixelData(*rect.args())), rect.width, rect.height)
        values = layers.read_pixels(mask, rect, layers.pixel_format(mask))
        return np.ascontiguousarray(np.clip(np.nan_to_num(values[:, :, -1]), 0.0, 1.0), dtype=np.float32)
    raise errors.PluginError(f"A mask must be a layer or mask of the document, a selection or an array, "
                             f"not {type(mask).__name__}.")


def combined_style(document, styles) -> jobs.StyleSource:
    """Several paintings (paths or nodes) as one StyleSource whose image is the engine's list."""
    sources = [jobs.resolve_style(document, s) for s in styles]
    return jobs.StyleSource([s.image for s in sources], " + ".join(s.label for s in sources))


def check_count(nst_core, styles, masks) -> None:
    if not isinstance(styles, (list, tuple)) or not isinstance(masks, (list, tuple)) or len(styles) != len(masks):
        count = len(styles) if isinstance(styles, (list, tuple)) else 1
        given = len(masks) if isinstance(masks, (list, tuple)) else 1
        raise nst_core.BadConfig(f"{given} mask{'s' if given != 1 else ''} for {count} painting"
                                 f"{'s' if count != 1 else ''}: give a list of paintings and one mask per painting "
                                 "(None for the one that paints the rest).")


def attach(document, layer_jobs: list, masks: list, keep_rest: bool = False) -> None:
    """Read ``masks`` over each job's area into ``job.region_masks`` (GUI thread).

    ``keep_rest``: the result is also cut to the (single) mask, so whatever no region covers
    stays exactly as it is in the document.
    """
    for job in layer_jobs:
        job.region_masks = [read_mask(document, m, job.rect) for m in masks]
        if keep_rest and job.region_masks[0] is not None:
            job.mask = _fit(job.region_masks[0], job.rect)


def _fit(mask, rect: layers.Rect) -> np.ndarray:
    mask = np.asarray(mask, dtype=np.float32)
    if mask.shape[:2] == (rect.height, rect.width):
        return mask
    from PIL import Image

    return np.asarray(Image.fromarray(mask).resize((rect.width, rect.height), Image.BILINEAR), dtype=np.float32)


def painting_for(name: str, main_style: str, recent: List[str]) -> str:
    """The painting a region named ``name`` asks for (nst_core.paintings' rule, GIMP's too)."""
    from nst_core import paintings  # torch-free

    path = paintings.named(name, main_style, recent)
    if path is None:
        raise errors.PluginError(f"No painting found for the region '{name}': name it like a painting file "
                                 f"(e.g. 'starry_night' for starry_night.jpg) in the folder of the chosen painting.")
    return path


def region_nodes(mode: str, layer, group) -> list:
    """The nodes that define the regions: the layer's selection masks, or the group's layers."""
    if mode == "masks":
        nodes = [n for n in layer.childNodes() if n.type() == "selectionmask"] if layer is not None else []
        if not nodes:
            raise errors.PluginError("The layer has no selection masks: add one per region "
                                     "(Layer ▸ New ▸ Local Selection), named after its painting.")
    else:
        nodes = [n for n in group.childNodes() if not jobs.is_mask(n)] if group is not None else []
        if not nodes:
            raise errors.PluginError("Choose a group whose layers mark the regions, each named after its painting.")
    return list(reversed(nodes))  # top of the stack first
