"""Krita nodes <-> numpy, result-layer insertion and the selection mask.

Only the GUI thread may call the functions that take a Krita ``Document`` or ``Node``;
the pure-numpy helpers (:func:`decode`, :func:`encode`, :func:`to_engine`,
:func:`from_engine`, :func:`compose`) are safe in any thread.

Pixel layouts of ``Node.pixelData`` in Krita 5.1 (checked in kritarunner):

* RGBA U8 / U16: channels stored B, G, R, A (native-endian integers).
* RGBA F16 / F32: channels stored R, G, B, A (half / single floats).
* GRAYA (any depth): gray, alpha.

Linear-light profiles (Krita's default for 16-bit integer and float RGB, e.g.
``sRGB-elle-V2-g10.icc``) are encoded with the sRGB curve before the engine sees them and
decoded afterwards, since the VGG network was trained on sRGB-encoded photos. Float values
outside 0–1 (HDR) are clipped for the engine, NaN counts as 0 and ±inf as 1 / 0. Alpha never goes through the engine: the
source's alpha is written back unchanged (times the selection, if there is one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import errors

DEPTH_DTYPES = {"U8": np.dtype(np.uint8), "U16": np.dtype(np.uint16),
                "F16": np.dtype(np.float16), "F32": np.dtype(np.float32)}
#: storage index of (R, G, B, A) or (gray, A) per (model, integer?)
_ORDER = {("RGBA", True): (2, 1, 0, 3), ("RGBA", False): (0, 1, 2, 3), ("GRAYA", True): (0, 1), ("GRAYA", False): (0, 1)}
SUPPORTED_MODELS = ("RGBA", "GRAYA")
#: Krita's mask node types: children of a layer, never styled themselves
MASK_TYPES = ("transparencymask", "filtermask", "transformmask", "selectionmask", "colorizemask")
#: the masks that change what a layer looks like, so a layer carrying one is read
#: through its projection (what the painter sees) instead of its raw pixels
_VISIBLE_MASKS = tuple(kind for kind in MASK_TYPES if kind != "selectionmask")


@dataclass(frozen=True)
class PixelFormat:
    """How one node's pixels are stored."""

    model: str
    depth: str
    profile: str

    @property
    def dtype(self) -> np.dtype:
        return DEPTH_DTYPES[self.depth]

    @property
    def is_integer(self) -> bool:
        return self.depth in ("U8", "U16")

    @property
    def channels(self) -> int:
        return 4 if self.model == "RGBA" else 2

    @property
    def order(self) -> tuple:
        return _ORDER[(self.model, self.is_integer)]

    @property
    def linear(self) -> bool:
        name = (self.profile or "").lower()
        return "g10" in name or "linear" in name or name.startswith("scrgb")


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    @classmethod
    def from_qrect(cls, rect) -> "Rect":
        return cls(rect.x(), rect.y(), rect.width(), rect.height())

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def intersected(self, other: "Rect") -> "Rect":
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.width, other.x + other.width)
        y1 = min(self.y + self.height, other.y + other.height)
        return Rect(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def args(self) -> tuple:
        return (self.x, self.y, self.width, self.height)


# ----------------------------------------------------------------------------- formats

def pixel_format(node, name: Optional[str] = None) -> PixelFormat:
    """The node's storage format; raises a plain-words error for models we cannot read."""
    model, depth = node.colorModel(), node.colorDepth()
    name = name if name is not None else node.name()
    if model not in SUPPORTED_MODELS:
        raise errors.unsupported_model(name, model, depth)
    if depth not in DEPTH_DTYPES:
        raise errors.unsupported_depth(name, depth)
    return PixelFormat(model, depth, node.colorProfile())


def decode(data: bytes, width: int, height: int, fmt: PixelFormat) -> np.ndarray:
    """Raw ``pixelData`` bytes -> float32 H×W×C in canonical order (R,G,B,A or gray,A).

    Integers are scaled to 0–1, floats are kept as they are; :func:`encode` inverts it
    exactly (a decode/encode round trip returns the same bytes at every depth).
    """
    raw = np.frombuffer(bytes(data), dtype=fmt.dtype)
    expected = width * height * fmt.channels
    if raw.size != expected:
        raise ValueError(f"expected {expected} values for {width}x{height} {fmt.model}/{fmt.depth}, got {raw.size}")
    raw = raw.reshape(height, width, fmt.channels)[:, :, list(fmt.order)]
    values = raw.astype(np.float32)
    if fmt.is_integer:
        values /= float(np.iinfo(fmt.dtype).max)
    return values


def encode(values: np.ndarray, fmt: PixelFormat) -> bytes:
    """Float32 H×W×C canonical order -> raw bytes for ``setPixelData`` at ``fmt``."""
    values = np.asarray(values, dtype=np.float32)
    if fmt.is_integer:
        top = float(np.iinfo(fmt.dtype).max)
        stored = np.rint(np.clip(values, 0.0, 1.0) * top).astype(fmt.dtype)
    else:
        stored = values.astype(fmt.dtype)
    out = np.empty_like(stored)
    out[:, :, list(fmt.order)] = stored
    return np.ascontiguousarray(out).tobytes()


# ----------------------------------------------------------------------------- colour

def srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055).astype(np.float32)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    encoded = np.clip(encoded, 0.0, 1.0)
    return np.where(encoded <= 0.04045, encoded / 12.92, np.power((encoded + 0.055) / 1.055, 2.4)).astype(np.float32)


def alpha_of(values: np.ndarray) -> np.ndarray:
    """The alpha channel of decoded values (H×W, contiguous): NaN counts as 0 and ±inf as 1 / 0."""
    return np.ascontiguousarray(np.nan_to_num(values[:, :, -1], nan=0.0, posinf=1.0, neginf=0.0))


def to_engine(values: np.ndarray, fmt: PixelFormat) -> np.ndarray:
    """Canonical float pixels -> H×W×3 float32 sRGB-encoded RGB in 0–1 for the engine."""
    colour = values[:, :, :-1]
    if not fmt.is_integer:  # a float layer may hold NaN or ±inf (e.g. from a filter): black / white
        colour = np.nan_to_num(colour, nan=0.0, posinf=1.0, neginf=0.0)
    if fmt.model == "GRAYA":
        colour = np.repeat(colour, 3, axis=2)
    colour = srgb_encode(colour) if fmt.linear else np.clip(colour, 0.0, 1.0)
    return np.ascontiguousarray(colour, dtype=np.float32)


def from_engine(rgb: np.ndarray, fmt: PixelFormat) -> np.ndarray:
    """Engine RGB (sRGB-encoded, 0–1) -> the colour channels of ``fmt`` (float32)."""
    rgb = np.clip(np.asarray(rgb, dtype=np.float32)[:, :, :3], 0.0, 1.0)
    if fmt.linear:
        rgb = srgb_decode(rgb)
    if fmt.model == "GRAYA":  # the engine's brightness (Rec. 601), as its luminance modes keep it
        from nst_core.colors import LUMA

        rgb = (rgb @ np.asarray(LUMA, dtype=np.float32))[:, :, None]
    return rgb.astype(np.float32)


def compose(rgb: np.ndarray, alpha: np.ndarray, mask: Optional[np.ndarray], fmt: PixelFormat) -> bytes:
    """The result layer's bytes: styled colour, the source's alpha times the selection."""
    colour = from_engine(rgb, fmt)
    if colour.shape[:2] != alpha.shape[:2]:
        raise ValueError(f"styled image is {colour.shape[1]}x{colour.shape[0]}, layer area is {alpha.shape[1]}x{alpha.shape[0]}")
    out_alpha = alpha if mask is None else alpha * mask
    return encode(np.concatenate([colour, out_alpha[:, :, None]], axis=2), fmt)


# ----------------------------------------------------------------------------- nodes (GUI thread)

def reads_projection(node) -> bool:
    """Group, vector, file, clone… layers and masked paint layers are read as they look."""
    if node.type() != "paintlayer":
        return True
    return any(child.type() in _VISIBLE_MASKS for child in node.childNodes())


def node_rect(node) -> Rect:
    return Rect.from_qrect(node.bounds())


def read_raw(node, rect: Rect) -> bytes:
    """The raw bytes of ``rect`` (image coordinates) of ``node``, as it looks or as painted."""
    if reads_projection(node):
        return bytes(node.projectionPixelData(*rect.args()))
    return bytes(node.pixelData(*rect.args()))


def read_pixels(node, rect: Rect, fmt: Optional[PixelFormat] = None) -> np.ndarray:
    """Canonical float32 pixels of ``rect`` (image coordinates) of ``node``."""
    return decode(read_raw(node, rect), rect.width, rect.height, fmt or pixel_format(node))


def write_pixels(node, rect: Rect, data: bytes) -> None:
    from .qt import QtCore

    node.setPixelData(QtCore.QByteArray(data), *rect.args())


def selection_rect(document) -> Optional[Rect]:
    """The bounding box of the document's active selection, or None when nothing is selected."""
    selection = document.selection()
    if selection is None:
        return None
    rect = Rect(selection.x(), selection.y(), selection.width(), selection.height())
    return None if rect.empty else rect


def selection_mask(document, rect: Rect) -> Optional[np.ndarray]:
    """Selection strength (0–1, float32 H×W) over ``rect``, or None without a selection."""
    selection = document.selection()
    if selection is None or selection_rect(document) is None:
        return None
    raw = np.frombuffer(bytes(selection.pixelData(*rect.args())), dtype=np.uint8)
    return raw.reshape(rect.height, rect.width).astype(np.float32) / 255.0


def work_rect(document, node, use_selection: bool = True) -> Rect:
    """The area to style: the layer's bounds, cut to the selection's bounds if there is one."""
    rect = node_rect(node)
    if rect.empty:
        raise errors.empty_layer(node.name())
    sel = selection_rect(document) if use_selection else None
    if sel is not None:
        rect = rect.intersected(sel)
        if rect.empty:
            raise errors.selection_misses(node.name())
    return rect


def find_node(document, unique_id):
    """The node of ``document`` with ``unique_id`` (a QUuid), or None if it is not in the tree."""
    stack = [document.rootNode()]
    while stack:
        node = stack.pop()
        if node.uniqueId() == unique_id:
            return node
        stack.extend(node.childNodes())
    return None


def document_is_open(document) -> bool:
    from krita import Krita

    return any(doc == document for doc in Krita.instance().documents())


def new_result_node(document, source, name: str, fmt: PixelFormat, rect: Rect, data: bytes):
    """A filled paint layer, not yet in the tree, in ``fmt``'s colour space at the source's offset.

    ``createNode`` makes a layer in the image's colour space. When the source's differs,
    every way of changing a layer of this image pushes a step on its undo stack, even
    while the layer is not in the tree (``setColorSpace`` a "Convert Layer Color Space",
    ``setBlendingMode`` on a duplicate a "Composition Mode Change"). So the layer is made
    in a scratch document created in that colour space (its own undo stack, closed at
    once): adding it here is then the run's only undo step, "Add Layer".
    """
    node = document.createNode(name, "paintlayer")
    same_space = (node.colorModel(), node.colorDepth(), node.colorProfile()) == (fmt.model, fmt.depth, fmt.profile)
    if not same_space:
        node = _node_in_space(name, fmt, document.resolution())
    if source.type() == "paintlayer":
        position = source.position()
        if (node.position().x(), node.position().y()) != (position.x(), position.y()):
            node.move(position.x(), position.y())
    write_pixels(node, rect, data)
    return node


def _node_in_space(name: str, fmt: PixelFormat, resolution) -> object:
    """A new, empty paint layer in ``fmt``'s colour space, made in a scratch document."""
    from krita import Krita

    scratch = Krita.instance().createDocument(1, 1, "neural-style-scratch", fmt.model, fmt.depth, fmt.profile,
                                              float(resolution or 72.0))
    try:
        node = scratch.createNode(name, "paintlayer")
        if (node.colorModel(), node.colorDepth()) != (fmt.model, fmt.depth):
            raise errors.unsupported_depth(name, fmt.depth)
        return node.duplicate()
    finally:
        scratch.close()


def insert_above(source, node, earlier=lambda sibling: False) -> None:
    """Add ``node`` above ``source`` in the same parent — and above the siblings directly on
    top of it for which ``earlier(sibling)`` holds (earlier results of the same source, which
    would otherwise hide the new one): one undo step in Krita."""
    parent = source.parentNode()
    below = source
    if parent is not None:
        siblings = parent.childNodes()  # bottom to top
        ids = [sibling.uniqueId() for sibling in siblings]
        index = ids.index(source.uniqueId()) if source.uniqueId() in ids else len(siblings)
        while index + 1 < len(siblings) and earlier(siblings[index + 1]):
            index += 1
            below = siblings[index]
    if parent is None or not parent.addChildNode(node, below):
        raise errors.layer_gone(source.name())
