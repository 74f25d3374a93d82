"""Problems a painter may meet, each with one plain-words message naming the fix.

The plugin shows ``str(error)`` as-is; no traceback reaches the painter. Engine problems
(``nst_core.NSTError``) already carry such messages and are shown unchanged.
"""
from __future__ import annotations

TITLE = "Neural Style Transfer"


class PluginError(Exception):
    """A problem the painter can understand and act on; ``str()`` is the whole message."""

    kind = "error"


class EngineMissing(PluginError):
    kind = "engine-missing"


class NoDocument(PluginError):
    kind = "no-document"


class NoLayer(PluginError):
    kind = "no-layer"


class EmptyLayer(PluginError):
    kind = "empty-layer"


class UnsupportedLayer(PluginError):
    kind = "unsupported-layer"


class NoStyle(PluginError):
    kind = "no-style"


class LayerGone(PluginError):
    kind = "layer-gone"


class DocumentClosed(PluginError):
    kind = "document-closed"


def engine_missing(module: str, detail: str = "") -> EngineMissing:
    what = {
        "torch": "PyTorch is not installed for Krita",
        "numpy": "NumPy is not installed for Krita",
        "nst_core": "The style-transfer engine (nst_core) is not installed beside the plugin",
    }.get(module, f"The Python package '{module}' cannot be loaded in Krita")
    message = (f"{what}: run 'python install.py' from the project folder (or "
               "'python install.py --link-env YOUR_VENV'), then restart Krita.")
    if detail:
        message += f" (Details: {detail})"
    return EngineMissing(message)


def no_document() -> NoDocument:
    return NoDocument("No document is open: open or create an image first, then run Neural Style Transfer again.")


def no_layer() -> NoLayer:
    return NoLayer("No layer is selected: click the layer to style in the Layers docker and try again.")


def empty_layer(name: str) -> EmptyLayer:
    return EmptyLayer(f"The layer '{name}' is empty: paint on it or pick another layer.")


def selection_misses(name: str) -> EmptyLayer:
    return EmptyLayer(f"The selection does not cover any pixel of the layer '{name}': "
                      "change the selection (or deselect) and try again.")


#: Krita's depth codes in a painter's words (never "U8" in a message)
DEPTH_WORDS = {"U8": "8-bit", "U16": "16-bit", "F16": "16-bit float", "F32": "32-bit float", "F64": "64-bit float"}
MODEL_WORDS = {"CMYKA": "CMYK", "LABA": "Lab", "XYZA": "XYZ", "YCbCrA": "YCbCr", "RGBA": "RGB", "GRAYA": "greyscale"}


def unsupported_model(name: str, model: str, depth: str) -> UnsupportedLayer:
    readable = f"{DEPTH_WORDS.get(depth, '')} {MODEL_WORDS.get(model, model)}".strip()
    return UnsupportedLayer(
        f"The layer '{name}' is {readable}, which style transfer cannot read: "
        "convert it with Layer ▸ Convert ▸ Convert Layer Color Space… to RGB/Alpha and try again.")


def unsupported_depth(name: str, depth: str) -> UnsupportedLayer:
    readable = DEPTH_WORDS.get(depth, "this")
    return UnsupportedLayer(f"The layer '{name}' has {readable} colour depth, which style transfer cannot read: "
                            "convert it to 8 or 16-bit integer, or 16 or 32-bit float, and try again.")


def regions_need_selection() -> PluginError:
    return PluginError("Regions from the selection need a selection: select the area first.")


def no_second_painting() -> NoStyle:
    return NoStyle("Choose the second painting, for the area outside the selection.")


def no_style() -> NoStyle:
    return NoStyle("No style image is chosen: pick an image file or a layer to take the style from.")


def style_file_missing(path: str) -> NoStyle:
    return NoStyle(f"The style image '{path}' does not exist: choose another file.")


def style_is_target(name: str) -> NoStyle:
    return NoStyle(f"The layer '{name}' cannot be both the style and the layer to style: pick another style.")


def not_a_style(style) -> NoStyle:
    return NoStyle(f"The style {type(style).__name__} {str(style)[:60]!r} is neither an image file nor a layer: "
                   "give the path of an image file or a layer (krita.Node) of the document.")


def not_a_node(node) -> NoLayer:
    return NoLayer(f"{type(node).__name__} {str(node)[:60]!r} is not a layer: give a layer (krita.Node) of the "
                   "document, e.g. document.activeNode().")


def root_node() -> NoLayer:
    return NoLayer("The root node holds the whole image, not a layer: give one of its layers, "
                   "e.g. document.topLevelNodes()[0].")


def not_in_document(name: str, document: str, what: str = "layer") -> NoLayer:
    return NoLayer(f"The {what} '{name}' is not in the document '{document}': give a layer of that document "
                   "(or pass the layer's own document).")


def not_a_document(document) -> NoDocument:
    return NoDocument(f"{type(document).__name__} {str(document)[:60]!r} is not a document: give a krita.Document, "
                      "e.g. Krita.instance().activeDocument().")


def layer_gone(name: str) -> LayerGone:
    return LayerGone(f"The layer '{name}' was deleted while it was being styled, so no result was added for it.")


def document_closed() -> DocumentClosed:
    return DocumentClosed("The document was closed while it was being styled, so nothing was added.")


def out_of_memory(device: str, detail: str = "") -> str:
    where = "the GPU" if device and device != "cpu" else "the computer"
    message = f"Style transfer ran out of memory on {where}: retry with a smaller working size"
    if device and device != "cpu":
        message += " or on the CPU"
    return message + "."


class Unexpected(PluginError):
    kind = "unexpected"


def unexpected(error: BaseException) -> str:
    return (f"Style transfer failed unexpectedly ({type(error).__name__}: {error}). "
            "Nothing in the document was changed; please report this with the steps that led to it.")
