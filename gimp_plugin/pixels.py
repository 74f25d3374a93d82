"""GIMP drawables <-> float32 pixels, through Gegl (GIMP side; needs PyGObject, not numpy).

Pixels are always asked for as ``R'G'B'A float`` — sRGB-encoded, 0–1, four channels —
whatever the image's precision (8/16/32-bit, linear or perceptual) or mode (greyscale
comes out as grey RGB): Gegl/babl convert, so the engine sees what it was trained on and
the result layer is written back in the same format and converted to the image's own.
The selection and saved selections (channels) are read as linear ``Y float`` (their strength, 0–1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

from . import messages  # noqa: E402

RGBA = "R'G'B'A float"
MASK = "Y float"


@dataclass(frozen=True)
class Rect:
    """A rectangle in image coordinates."""

    x: int
    y: int
    width: int
    height: int

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def intersected(self, other: "Rect") -> "Rect":
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.width, other.x + other.width)
        y1 = min(self.y + self.height, other.y + other.height)
        return Rect(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def gegl(self, dx: int = 0, dy: int = 0) -> "Gegl.Rectangle":
        """As a Gegl rectangle, shifted by (dx, dy) (image -> drawable coordinates)."""
        return Gegl.Rectangle.new(self.x + dx, self.y + dy, self.width, self.height)


def check_image(image) -> None:
    """Indexed images cannot be read as RGB without changing them: say how to convert."""
    if image.get_base_type() == Gimp.ImageBaseType.INDEXED:
        raise messages.indexed_image()


def drawable_rect(drawable) -> Rect:
    _, x, y = drawable.get_offsets()
    return Rect(x, y, drawable.get_width(), drawable.get_height())


def selection_rect(image) -> Optional[Rect]:
    """The selection's bounding box, or None when nothing is selected."""
    _, non_empty, x1, y1, x2, y2 = Gimp.Selection.bounds(image)
    if not non_empty:
        return None
    return Rect(x1, y1, x2 - x1, y2 - y1)


def work_rect(image, layer) -> Rect:
    """The layer's area, cut to the selection's bounding box when there is a selection."""
    name = layer.get_name()
    rect = drawable_rect(layer)
    if rect.empty:
        raise messages.empty_layer(name)
    selected = selection_rect(image)
    if selected is not None:
        rect = rect.intersected(selected)
        if rect.empty:
            raise messages.selection_misses(name)
    return rect


def read_rgba(layer, rect: Rect) -> bytes:
    """``rect`` (image coordinates) of ``layer`` as H×W×4 float32 R'G'B'A bytes."""
    _, ox, oy = layer.get_offsets()
    return bytes(layer.get_buffer().get(rect.gegl(-ox, -oy), 1.0, RGBA, Gegl.AbyssPolicy.NONE))


def read_selection(image, rect: Rect) -> Optional[bytes]:
    """Selection strength over ``rect`` as H×W float32 bytes, or None without a selection."""
    if selection_rect(image) is None:
        return None
    return read_channel(image.get_selection(), rect)


def read_channel(channel, rect: Rect) -> bytes:
    """A channel's (a saved selection's) strength over ``rect`` as H×W float32 bytes."""
    return bytes(channel.get_buffer().get(rect.gegl(), 1.0, MASK, Gegl.AbyssPolicy.NONE))


def any_visible(rgba: bytes, mask: Optional[bytes]) -> bool:
    """Whether some pixel has alpha (times the selection) above 0 — without numpy."""
    alphas = memoryview(rgba).cast("f")[3::4]
    if mask is None:
        return any(a > 0 for a in alphas)
    strengths = memoryview(mask).cast("f")
    return any(a > 0 and s > 0 for a, s in zip(alphas, strengths))


def result_type(image):
    """The layer type that matches the image's mode (greyscale images get greyscale layers)."""
    if image.get_base_type() == Gimp.ImageBaseType.GRAY:
        return Gimp.ImageType.GRAYA_IMAGE
    return Gimp.ImageType.RGBA_IMAGE


def new_layer(image, name: str, rect: Rect, rgba: bytes):
    """A filled layer at ``rect``, not yet in the image (so filling it is no undo step)."""
    layer = Gimp.Layer.new(image, name, rect.width, rect.height, result_type(image), 100.0,
                           Gimp.LayerMode.NORMAL)
    layer.set_offsets(rect.x, rect.y)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, rect.width, rect.height), RGBA, rgba)
    buffer.flush()
    return layer


def insert_above(image, source, layer, earlier=lambda name: False) -> None:
    """Add ``layer`` above ``source`` in the same group — and above the layers directly on top
    of it whose name ``earlier(name)`` accepts (earlier results of the same source, which would
    otherwise hide the new one), as Krita does."""
    if not source.is_valid() or source.get_image() != image:
        raise messages.layer_gone(source.get_name() if source.is_valid() else "?")
    parent = source.get_parent()
    siblings = parent.get_children() if parent is not None else image.get_layers()  # top first
    position = image.get_item_position(source)
    while position > 0 and earlier(siblings[position - 1].get_name()):
        position -= 1
    image.insert_layer(layer, parent, position)
    layer.update(0, 0, layer.get_width(), layer.get_height())
