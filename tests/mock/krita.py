"""A fake ``krita`` module: just enough of Krita's scripting API, on numpy arrays, for the
plugin's own logic (plugin/jobs.py, regions.py, layers.py) to run in plain pytest in seconds.

Why it exists: the real API is only there inside Krita, and every real-Krita test starts
Krita under Xvfb (tests/krita/). Those stay the judges of how Krita behaves; this fake
follows them and Krita's documentation where the plugin depends on it:

* ``Node.pixelData`` is the raw storage: integer RGBA as B, G, R, A, float RGBA as R, G, B, A,
  grey as grey, alpha (:func:`pixels` writes them); masks and selections one byte a pixel.
* ``Node.bounds`` is the box of the pixels that are not all zero; reading outside the
  canvas gives zeros, writing there is dropped.
* ``Krita.createDocument`` adds an opaque white "Background" paint layer; ``Document.selection``
  is None with nothing selected; ``addChildNode(node, above)`` puts ``node`` directly above
  ``above`` (at the top for None); ``childNodes`` lists bottom to top.

Not faked (so not testable here): projections of groups and of layers with visible masks,
colour-space conversion, undo, and anything Qt (``plugin.qt`` needs a real binding).
Test helpers that Krita lacks are marked so. Load it with the ``krita`` fixture (conftest.py).
"""
from __future__ import annotations

import uuid
from typing import List, Optional

import numpy as np

#: bytes per channel and channels per pixel of Krita's colour depths and models
DEPTH_BYTES = {"U8": 1, "U16": 2, "F16": 2, "F32": 4}
MODEL_CHANNELS = {"RGBA": 4, "GRAYA": 2, "CMYKA": 5, "LABA": 4, "A": 1}
DTYPES = {"U8": np.uint8, "U16": np.uint16, "F16": np.float16, "F32": np.float32}
MASKS = ("selectionmask", "transparencymask", "filtermask", "transformmask", "colorizemask")


def default_profile(model: str, depth: str) -> str:
    """Krita's default profile: sRGB-encoded at 8 bit, linear (g10) at 16 bit and float."""
    curve = "srgbtrc" if depth == "U8" else "g10"
    return f"Gray-D50-elle-V2-{curve}.icc" if model == "GRAYA" else f"sRGB-elle-V2-{curve}.icc"


def pixels(values, model: str = "RGBA", depth: str = "U8") -> bytes:
    """Test helper, not Krita: H×W×C values in R, G, B, A (or grey, A) order — 0–1 floats —
    as the bytes Krita stores for ``model``/``depth``."""
    values = np.asarray(values, dtype=np.float64)
    dtype = np.dtype(DTYPES[depth])
    if dtype.kind == "u":
        stored = np.rint(np.clip(values, 0, 1) * np.iinfo(dtype).max).astype(dtype)
        if model == "RGBA":
            stored = stored[..., [2, 1, 0, 3]]
    else:
        stored = values.astype(dtype)
    return np.ascontiguousarray(stored).tobytes()


class QRect:
    def __init__(self, x: int = 0, y: int = 0, width: int = 0, height: int = 0):
        self._box = (x, y, width, height)

    def x(self) -> int:
        return self._box[0]

    def y(self) -> int:
        return self._box[1]

    def width(self) -> int:
        return self._box[2]

    def height(self) -> int:
        return self._box[3]


class QPoint:
    def __init__(self, x: int = 0, y: int = 0):
        self._xy = (x, y)

    def x(self) -> int:
        return self._xy[0]

    def y(self) -> int:
        return self._xy[1]


def _box(nonzero: np.ndarray) -> QRect:
    """The bounding box of the True cells of an H×W array (an empty QRect for none)."""
    rows, cols = np.flatnonzero(nonzero.any(axis=1)), np.flatnonzero(nonzero.any(axis=0))
    if rows.size == 0:
        return QRect()
    return QRect(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


class _Raster:
    """Bytes over a fixed W×H area, ``pixel`` bytes a pixel; outside it reads zeros."""

    def __init__(self, width: int, height: int, pixel: int):
        self.data = np.zeros((height, width, pixel), np.uint8)

    def read(self, x: int, y: int, w: int, h: int) -> bytes:
        out = np.zeros((h, w, self.data.shape[2]), np.uint8)
        src, dst = self._overlap(x, y, w, h)
        if src is not None:
            out[dst] = self.data[src]
        return out.tobytes()

    def write(self, data, x: int, y: int, w: int, h: int) -> None:
        values = np.frombuffer(bytes(data), np.uint8)
        if values.size != w * h * self.data.shape[2]:
            raise ValueError(f"{values.size} bytes for a {w}×{h} area of {self.data.shape[2]}-byte pixels")
        src, dst = self._overlap(x, y, w, h)
        if src is not None:
            self.data[src] = values.reshape(h, w, -1)[dst]

    def _overlap(self, x: int, y: int, w: int, h: int):
        """(slices of self.data, slices of the requested area) where the two meet, or (None, None)."""
        height, width = self.data.shape[:2]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
        if x0 >= x1 or y0 >= y1:
            return None, None
        return (slice(y0, y1), slice(x0, x1)), (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))

    def bounds(self) -> QRect:
        return _box(self.data.any(axis=2))


class Node:
    def __init__(self, document: "Document", name: str, kind: str, model: str, depth: str, profile: str):
        self._document, self._name, self._type = document, name, kind
        if kind in MASKS:
            model, depth = "A", "U8"
        self._space = (model, depth, profile)
        self._raster = _Raster(document.width(), document.height(), MODEL_CHANNELS[model] * DEPTH_BYTES[depth])
        self._id = uuid.uuid4()
        self._parent: Optional[Node] = None
        self._children: List[Node] = []

    def name(self) -> str:
        return self._name

    def setName(self, name: str) -> None:
        self._name = name

    def type(self) -> str:
        return self._type

    def uniqueId(self):
        return self._id

    def colorModel(self) -> str:
        return self._space[0]

    def colorDepth(self) -> str:
        return self._space[1]

    def colorProfile(self) -> str:
        return self._space[2]

    def parentNode(self) -> Optional["Node"]:
        return self._parent

    def childNodes(self) -> List["Node"]:
        return list(self._children)

    def addChildNode(self, child: "Node", above: Optional["Node"]) -> bool:
        if child._parent is not None:
            return False
        index = len(self._children) if above is None else self._children.index(above) + 1
        self._children.insert(index, child)
        child._parent = self
        return True

    def remove(self) -> bool:
        if self._parent is None:
            return False
        self._parent._children.remove(self)
        self._parent = None
        return True

    def duplicate(self) -> "Node":
        copy = Node(self._document, self._name, self._type, *self._space)
        copy._raster.data = self._raster.data.copy()
        return copy

    def position(self) -> QPoint:
        return QPoint(0, 0)

    def bounds(self) -> QRect:
        return self._raster.bounds()

    def pixelData(self, x: int, y: int, w: int, h: int) -> bytes:
        return self._raster.read(x, y, w, h)

    def projectionPixelData(self, x: int, y: int, w: int, h: int) -> bytes:
        if self._type != "paintlayer" or any(c.type() in MASKS and c.type() != "selectionmask" for c in self._children):
            raise NotImplementedError("the fake composes no projections: test groups and masked layers in Krita")
        return self.pixelData(x, y, w, h)

    def setPixelData(self, data, x: int, y: int, w: int, h: int) -> bool:
        self._raster.write(data, x, y, w, h)
        return True


class Selection:
    """One byte a pixel (0 unselected … 255 selected), anchored at the image's origin."""

    def __init__(self):
        self._values = np.zeros((0, 0), np.uint8)

    def _cover(self, width: int, height: int) -> None:
        if width > self._values.shape[1] or height > self._values.shape[0]:
            grown = np.zeros((max(height, self._values.shape[0]), max(width, self._values.shape[1])), np.uint8)
            grown[:self._values.shape[0], :self._values.shape[1]] = self._values
            self._values = grown

    def select(self, x: int, y: int, w: int, h: int, value: int) -> None:
        self._cover(x + w, y + h)
        self._values[y:y + h, x:x + w] = value

    def setPixelData(self, data, x: int, y: int, w: int, h: int) -> None:
        self._cover(x + w, y + h)
        self._values[y:y + h, x:x + w] = np.frombuffer(bytes(data), np.uint8).reshape(h, w)

    def _box(self) -> QRect:
        return _box(self._values > 0)

    def x(self) -> int:
        return self._box().x()

    def y(self) -> int:
        return self._box().y()

    def width(self) -> int:
        return self._box().width()

    def height(self) -> int:
        return self._box().height()

    def pixelData(self, x: int, y: int, w: int, h: int) -> bytes:
        raster = _Raster(*self._values.shape[::-1], 1)
        raster.data[..., 0] = self._values
        return raster.read(x, y, w, h)

    def duplicate(self) -> "Selection":
        copy = Selection()
        copy._values = self._values.copy()
        return copy


class Document:
    def __init__(self, width: int, height: int, name: str, model: str, depth: str, profile: str, resolution: float):
        self._size, self._name, self._resolution = (width, height), name, resolution
        self._space = (model, depth, profile or default_profile(model, depth))
        self._root = Node(self, "root", "grouplayer", *self._space)
        self._selection: Optional[Selection] = None
        background = self.createNode("Background", "paintlayer")
        if model in ("RGBA", "GRAYA"):  # other models' bytes are not faked: their Background stays empty
            white = np.ones((height, width, MODEL_CHANNELS[model]))
            background.setPixelData(pixels(white, model, depth), 0, 0, width, height)
        self._root.addChildNode(background, None)
        self._active: Optional[Node] = background

    def name(self) -> str:
        return self._name

    def width(self) -> int:
        return self._size[0]

    def height(self) -> int:
        return self._size[1]

    def resolution(self) -> float:
        return self._resolution

    def colorModel(self) -> str:
        return self._space[0]

    def colorDepth(self) -> str:
        return self._space[1]

    def colorProfile(self) -> str:
        return self._space[2]

    def rootNode(self) -> Node:
        return self._root

    def activeNode(self) -> Optional[Node]:
        return self._active

    def setActiveNode(self, node: Node) -> None:
        self._active = node

    def createNode(self, name: str, kind: str) -> Node:
        return Node(self, name, kind, *self._space)

    def createGroupLayer(self, name: str) -> Node:
        return self.createNode(name, "grouplayer")

    def selection(self) -> Optional[Selection]:
        """A copy, as Krita's is; None when nothing is selected."""
        if self._selection is None or self._selection.width() == 0:
            return None
        return self._selection.duplicate()

    def setSelection(self, selection: Optional[Selection]) -> None:
        self._selection = selection.duplicate() if selection is not None else None

    def waitForDone(self) -> None:
        pass

    def refreshProjection(self) -> None:
        pass

    def close(self) -> bool:
        Krita.instance()._documents = [d for d in Krita.instance()._documents if d is not self]
        return True


class View:
    def __init__(self, document: Document):
        self._document = document
        self._selected: List[Node] = []

    def document(self) -> Document:
        return self._document

    def selectedNodes(self) -> List[Node]:
        return list(self._selected)

    def setSelectedNodes(self, nodes) -> None:
        """Test helper, not Krita: what the painter selected in the Layers docker."""
        self._selected = list(nodes)


class Window:
    def __init__(self):
        self._view: Optional[View] = None

    def addView(self, document: Document) -> View:
        self._view = View(document)
        Krita.instance()._active_window = self
        return self._view

    def activeView(self) -> Optional[View]:
        return self._view


class Krita:
    _instance: Optional["Krita"] = None

    def __init__(self):
        self._documents: List[Document] = []
        self._active_window: Optional[Window] = None
        self._active_document: Optional[Document] = None

    @staticmethod
    def instance() -> "Krita":
        if Krita._instance is None:
            Krita._instance = Krita()
        return Krita._instance

    def createDocument(self, width: int, height: int, name: str, model: str, depth: str, profile: str,
                       resolution: float) -> Document:
        document = Document(width, height, name, model, depth, profile, resolution)
        self._documents.append(document)
        return document

    def documents(self) -> List[Document]:
        return list(self._documents)

    def activeDocument(self) -> Optional[Document]:
        view = self._active_window.activeView() if self._active_window is not None else None
        return view.document() if view is not None else self._active_document

    def setActiveDocument(self, document: Document) -> None:
        self._active_document = document

    def openWindow(self) -> Window:
        return Window()

    def activeWindow(self) -> Optional[Window]:
        return self._active_window
