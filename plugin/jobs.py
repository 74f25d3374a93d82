"""One styling job per layer: read it (GUI thread), style it (any thread), insert it (GUI thread)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from . import errors, layers

#: a selected patch's working size is never made smaller than this (px, or the patch's own size)
PATCH_MIN_SIZE = 64

@dataclass
class LayerJob:
    """Everything needed to style one layer. Only ``content``/``alpha``/``mask``/``fmt``
    may be used off the GUI thread; ``document``/``source`` are Krita objects."""

    document: Any
    source: Any
    source_id: Any
    source_name: str
    result_name: str
    fmt: layers.PixelFormat
    rect: layers.Rect
    content: np.ndarray  #: H×W×3 float32 sRGB in 0–1, what the engine styles
    alpha: np.ndarray  #: H×W float32, the source's alpha
    mask: Optional[np.ndarray]  #: H×W float32 selection strength, or None
    region_masks: Optional[list] = None  #: one mask per painting, or None (plugin/regions.py)
    whole_long_side: int = 0  #: long side of the whole layer when only a selected patch of it is styled
    fingerprint: str = ""  #: of the bytes read, to notice strokes painted during the run (nst_core.meanwhile)


@dataclass
class StyleSource:
    """The style as the engine takes it (a path or an H×W×3 array) and a short label."""

    image: Any
    label: str
    node_id: Any = None


def result_name(layer_name: str, style_label: str) -> str:
    from nst_core import paintings  # torch-free: GIMP names its results the same way

    return paintings.result_name(layer_name, style_label)


def is_result_of(node, layer_name: str) -> bool:
    """``node`` is named like a result of the layer called ``layer_name``."""
    from nst_core import paintings

    return paintings.is_result_of(node.name(), layer_name)


def is_mask(node) -> bool:
    return node.type() in layers.MASK_TYPES


def _limits():
    """nst_core.limits (Pillow only, no torch: cheap on the GUI thread), or None if absent."""
    try:
        from nst_core import limits
    except ImportError:
        return None
    return limits


def check_pixel_budget(width: int, height: int, what: str) -> None:
    """Refuse an area over the engine's pixel budget before a byte of it is read."""
    limits = _limits()
    if limits is not None:
        limits.check_pixels(width, height, what)


def style_from_path(path: str) -> StyleSource:
    """The style file, after checking from its header that it is readable and within the pixel budget."""
    if not path:
        raise errors.no_style()
    if not isinstance(path, (str, os.PathLike)):
        raise errors.no_style()
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise errors.style_file_missing(path)
    limits = _limits()
    if limits is not None:
        limits.check_image_file(path, "style image")  # nst_core.BadImage in plain words
    return StyleSource(path, os.path.splitext(os.path.basename(path))[0])


def style_from_node(document, node) -> StyleSource:
    """The look of ``node`` as an sRGB image (transparent parts over white)."""
    fmt = layers.pixel_format(node)
    rect = layers.node_rect(node)
    if rect.empty:
        raise errors.empty_layer(node.name())
    check_pixel_budget(rect.width, rect.height, f"style layer '{node.name()}'")
    values = layers.read_pixels(node, rect, fmt)
    alpha = values[:, :, -1:].clip(0.0, 1.0)
    rgb = layers.to_engine(values, fmt) * alpha + (1.0 - alpha)
    return StyleSource(np.ascontiguousarray(rgb, dtype=np.float32), node.name(), node.uniqueId())


def resolve_style(document, style) -> StyleSource:
    """``style`` may be a path, a Krita node, or an already resolved StyleSource."""
    if isinstance(style, StyleSource):
        return style
    if style is None:
        raise errors.no_style()
    if isinstance(style, (str, os.PathLike)):
        return style_from_path(os.fspath(style))
    if hasattr(style, "pixelData") and hasattr(style, "uniqueId"):
        return style_from_node(document, style)
    raise errors.not_a_style(style)


def check_node(document, node, what: str = "layer") -> None:
    """``node`` is a layer of ``document`` (not its root, not another document's), else a PluginError."""
    if node is None:
        raise errors.no_layer()
    if not (hasattr(node, "uniqueId") and hasattr(node, "parentNode") and hasattr(node, "pixelData")):
        raise errors.not_a_node(node)
    if node.parentNode() is None:
        if layers.find_node(document, node.uniqueId()) is not None:
            raise errors.root_node()
        raise errors.not_in_document(node.name(), document.name() or "untitled", what)
    if layers.find_node(document, node.uniqueId()) is None:
        raise errors.not_in_document(node.name(), document.name() or "untitled", what)


def prepare(document, node, style_label: str, use_selection: bool = True) -> LayerJob:
    """Read ``node`` for styling (GUI thread). Raises a PluginError in plain words."""
    check_node(document, node)
    if is_mask(node):
        raise errors.UnsupportedLayer(f"'{node.name()}' is a mask, not a layer: select the layer above it instead.")
    name = node.name()
    fmt = layers.pixel_format(node, name)
    rect = layers.work_rect(document, node, use_selection)
    check_pixel_budget(rect.width, rect.height, f"layer '{name}'" + (" (its selected area)" if use_selection and
                                                                    layers.selection_rect(document) else ""))
    mask = layers.selection_mask(document, rect) if use_selection else None
    job = LayerJob(
        document=document, source=node, source_id=node.uniqueId(), source_name=name,
        result_name=result_name(name, style_label), fmt=fmt, rect=rect,
        content=None, alpha=None, mask=mask, whole_long_side=whole_long_side(node, rect),
    )
    read(job, node)
    if mask is not None and not np.any(mask * job.alpha > 0):
        raise errors.selection_misses(name)
    return job


def read(job: LayerJob, node) -> None:
    """(Re)read ``job``'s area of ``node``: its pixels for the engine, alpha and fingerprint."""
    data = layers.read_raw(node, job.rect)
    values = layers.decode(data, job.rect.width, job.rect.height, job.fmt)
    alpha = layers.alpha_of(values)
    if not np.any(alpha > 0):
        raise errors.empty_layer(job.source_name)
    job.content, job.alpha = layers.to_engine(values, job.fmt), alpha
    job.fingerprint = _meanwhile().fingerprint(data)


def changed_since_read(job: LayerJob) -> bool:
    """The job's source still exists and its area no longer holds the bytes that were read."""
    if not layers.document_is_open(job.document):
        return False
    node = layers.find_node(job.document, job.source_id)
    if node is None or not job.fingerprint:
        return False
    return _meanwhile().fingerprint(layers.read_raw(node, job.rect)) != job.fingerprint


def _meanwhile():
    from nst_core import meanwhile  # torch-free

    return meanwhile


def whole_long_side(node, rect: layers.Rect) -> int:
    """The layer's long side when ``rect`` is a selected patch of it (0 when it is the whole layer)."""
    whole = layers.node_rect(node)
    side = max(whole.width, whole.height)
    return side if side > max(rect.width, rect.height) else 0


def style_size(style: "StyleSource"):
    """(height, width) of the style, from the file's header or the array (None if unknown)."""
    if isinstance(style.image, np.ndarray):
        return tuple(style.image.shape[:2])
    limits = _limits()
    try:
        width, height = limits.image_file_size(style.image, "style image")
    except Exception:  # unreadable files are refused in words elsewhere
        return None
    return height, width


def job_config(config, height: int, width: int, whole_side: int = 0, style_hw=None, device=None):
    """The settings one layer's area is styled with — what the engine thread runs and what
    the dialog's estimate plans for, so the two never disagree.

    * The working size is capped to what the result can use (:func:`capped_config`).
    * A selected patch is styled as the same part of a whole-layer run would be: at the
      working size times its share of the layer, with the painting enlarged by the inverse
      (``style_scale``), so its brush strokes have the same size on the canvas.
    * A finish at the layer's own size is lowered to what the free memory of ``device``
      holds (the rest of the way is scaled), when ``device`` is given.
    """
    import dataclasses

    from nst_core.config import STYLE_SCALE_RANGE

    config = capped_config(config, height, width)
    long_side = max(height, width)
    if whole_side > long_side and config.size:
        share = long_side / whole_side
        least = min(long_side, PATCH_MIN_SIZE)
        config = dataclasses.replace(config, size=max(least, round(int(config.size) * share)),
                                     style_scale=min(STYLE_SCALE_RANGE[1], float(config.style_scale) / share))
    if config.finish_size and device is not None:
        from nst_core import memory

        finish = memory.largest_finish((height, width), [style_hw] if style_hw else [], config, device)
        if finish != config.finish_size:
            config = dataclasses.replace(config, finish_size=finish)
    return config


def style_job(nst_core, job: LayerJob, style: StyleSource, config, progress=None, cancel=None) -> bytes:
    """Run the engine on one job and return the result layer's bytes (any thread)."""
    from nst_core.limits import MIN_SIDE

    content = job.content
    height, width = content.shape[:2]
    pad_y, pad_x = max(0, MIN_SIDE - height), max(0, MIN_SIDE - width)
    if pad_y or pad_x:  # the engine refuses a tiny layer or selection: pad it by repeating its edges, crop after
        content = np.pad(content, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
    config = job_config(config, *content.shape[:2], job.whole_long_side, style_size(style),
                        nst_core.available_device(config.device))
    regions = {}
    if job.region_masks is not None:  # several paintings in regions (plugin/regions.py)
        regions["masks"] = pad_masks(job.region_masks, height, width, pad_y, pad_x)
    result = nst_core.stylize(content, style.image, config, progress=progress, cancel=cancel, **regions)
    return layers.compose(result.image[:height, :width], job.alpha, job.mask, job.fmt)


def pad_masks(masks: Optional[list], height: int, width: int, pad_y: int, pad_x: int) -> Optional[list]:
    """Masks the size of a tiny layer padded like its content (edges repeated), so they stay aligned."""
    if masks is None or not (pad_y or pad_x):
        return masks
    return [np.pad(m, ((0, pad_y), (0, pad_x)), mode="edge")
            if isinstance(m, np.ndarray) and m.shape[:2] == (height, width) else m for m in masks]


def capped_config(config, height: int, width: int):
    """``config`` with its working size lowered to what a ``height`` × ``width`` result can use.

    The result is scaled back to the layer, so a 96-px layer styled at 8192 px would cost
    minutes and gigabytes for nothing: the working size is capped at twice the layer's
    long side (or 512 px, whichever is more) — see ``nst_core.limits.working_size_cap``.
    """
    limits = _limits()
    if limits is None or not getattr(config, "size", None):
        return config
    cap = limits.working_size_cap(height, width)
    if int(config.size) <= cap:
        return config
    import dataclasses

    return dataclasses.replace(config, size=cap)


def check_alive(job: LayerJob):
    """The job's source node if it and its document still exist; else a PluginError."""
    if not layers.document_is_open(job.document):
        raise errors.document_closed()
    node = layers.find_node(job.document, job.source_id)
    if node is None or node.parentNode() is None:
        raise errors.layer_gone(job.source_name)
    return node


def insert_result(job: LayerJob, data: bytes):
    """Create the result layer, fill it, then add it above the source and above the
    source's earlier results, where it is seen (one undo step)."""
    source = check_alive(job)
    node = layers.new_result_node(job.document, source, job.result_name, job.fmt, job.rect, data)
    layers.insert_above(source, node, lambda sibling: is_result_of(sibling, source.name()))
    return node


def target_nodes(document, which: str = "active") -> list:
    """The active layer, or every layer selected in the active view (GUI thread)."""
    from krita import Krita

    nodes = []
    if which == "selected":
        window = Krita.instance().activeWindow()
        view = window.activeView() if window is not None else None
        if view is not None and view.document() == document:
            nodes = [n for n in view.selectedNodes() if not is_mask(n)]
    if not nodes:
        node = document.activeNode()
        if node is not None and node.parentNode() is not None:
            nodes = [node]
    if not nodes:
        raise errors.no_layer()
    return nodes
