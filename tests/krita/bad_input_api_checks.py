"""Runs inside ``kritarunner``: bad input to ``neural_style.api.stylize_layers`` (issue 10).

Usage: ``kritarunner -s bad_input_api_checks OUT.json BOMB_DIR``. Every check records the
error type and message, whether the progress callback was ever called (no run started),
the document's layers before and after, and, where it is about memory, Krita's peak
memory during the call (VmHWM, reset through /proc/self/clear_refs before it).
"""
import json
import os
import sys
import time
import traceback
from pathlib import Path

from krita import Krita
from neural_style.qt import QtCore
QByteArray = QtCore.QByteArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bombs  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STYLE = str(REPO / "examples" / "style" / "starry_night.jpg")
CONTENT = str(REPO / "examples" / "content" / "chelsea.png")
FAST = dict(preset="fast", steps=1, size=48, seed=0, device="cpu")
RESULTS = {}
OUT = ["bad_input_api.json"]


def save():
    with open(OUT[0] + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(RESULTS, handle, indent=1, default=str)
    os.replace(OUT[0] + ".tmp", OUT[0])


def run(name, fn):
    print("check:", name, flush=True)
    try:
        RESULTS[name] = fn()
    except Exception:
        RESULTS[name] = {"error": traceback.format_exc()}
    save()


def status(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return status("VmRSS")


def image_doc(w=64, h=48, depth="U8"):
    from neural_style.qt import QtGui
    QImage = QtGui.QImage
    from neural_style.qt import QtCore
    Qt = QtCore.Qt
    doc = Krita.instance().createDocument(w, h, "bad", "RGBA", "U8", "", 72.0)
    img = QImage(CONTENT).scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation).convertToFormat(QImage.Format.Format_ARGB32)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    layer = doc.createNode("photo", "paintlayer")
    doc.rootNode().addChildNode(layer, None)
    layer.setPixelData(QByteArray(bytes(ptr)), 0, 0, w, h)
    doc.waitForDone()
    return doc, layer


def snapshot(doc):
    """Names, types and pixel bytes of every top-level node: equal before and after means unchanged."""
    out = []
    for node in doc.rootNode().childNodes():
        b = node.bounds()
        out.append([node.name(), node.type(), node.colorDepth(),
                    hash(bytes(node.pixelData(b.x(), b.y(), b.width(), b.height())))])
    return out


def attempt(doc, call, measure=False):
    """Call ``call(progress)``; record the error, whether a run started, the layers and the peak memory."""
    from neural_style import errors
    import nst_core
    calls = []
    before = snapshot(doc)
    base = reset_peak() if measure else 0
    started = time.monotonic()
    record = {}
    try:
        value = call(lambda p: calls.append(p.step))
        record["raised"] = None
        record["value"] = len(value) if isinstance(value, list) else str(value)
    except (errors.PluginError, nst_core.NSTError, nst_core.Cancelled) as error:
        record["raised"] = [type(error).__name__, str(error), type(error).__module__.split(".")[0]]
    except BaseException as error:  # what the API must never raise
        record["raised"] = ["FOREIGN " + type(error).__name__, str(error), traceback.format_exc()]
    record["seconds"] = time.monotonic() - started
    if measure:
        record["peak_above_start"] = status("VmHWM") - base
    record["progress_calls"] = len(calls)
    doc.waitForDone()
    record["unchanged"] = snapshot(doc) == before
    return record


def check_bombs():
    from neural_style.api import stylize_layers
    bomb_dir = Path(sys.argv_bombs)
    big = bombs.write_png(bomb_dir / "bomb_13000.png", 13000, 13000, channels=3)
    doc, layer = image_doc()
    out = {"style_file": attempt(doc, lambda p: stylize_layers(doc, layer, str(big), progress=p, **FAST), measure=True)}
    # a layer over the budget: two pixels 8300 px apart (bounds 8301², 69 MP), refused before it is read
    wide = doc.createNode("wide", "paintlayer")
    doc.rootNode().addChildNode(wide, None)
    wide.setPixelData(QByteArray(b"\x10\x20\x30\xff"), 0, 0, 1, 1)
    wide.setPixelData(QByteArray(b"\x10\x20\x30\xff"), 8300, 8300, 1, 1)
    doc.waitForDone()
    b = wide.bounds()
    out["wide_bounds"] = [b.width(), b.height()]
    out["wide_layer"] = attempt(doc, lambda p: stylize_layers(doc, wide, STYLE, progress=p, **FAST), measure=True)
    out["wide_style_layer"] = attempt(doc, lambda p: stylize_layers(doc, layer, wide, progress=p, **FAST), measure=True)
    return out


def check_huge_working_size():
    """A 96×64 layer at working size 8192: capped to what the layer can use, memory bounded."""
    from neural_style.api import stylize_layers
    doc, layer = image_doc(96, 64)
    sizes = []

    def call(p):
        def progress(info):
            sizes.append(list(info.size))
            p(info)
        return stylize_layers(doc, layer, STYLE, preset="fast", steps=1, size=8192, seed=0, device="cpu",
                              progress=progress)

    before = [n.name() for n in doc.rootNode().childNodes()]
    record = attempt(doc, call, measure=True)
    record["sizes"] = sizes
    record["names_before"] = before
    record["names_after"] = [n.name() for n in doc.rootNode().childNodes()]
    new = [n for n in doc.rootNode().childNodes() if n.name().startswith("Styled")]
    record["new_bounds"] = [new[0].bounds().width(), new[0].bounds().height()] if new else None
    return record


def check_cancel_at_a_large_size():
    """Cancel asked during a tiled step takes effect inside it: the flag turns true at its third
    reading after the first report (the loop reads it once per step, the network per layer)."""
    from neural_style.api import stylize_layers
    doc, layer = image_doc(192, 128)
    reads = {}

    def cancel():
        if "after_first" not in reads:
            return False
        reads["after_first"] += 1
        if reads["after_first"] >= 3:
            reads.setdefault("at", time.monotonic())
            return True
        return False

    def call(p):
        def progress(info):
            reads.setdefault("after_first", 0)
            p(info)
        return stylize_layers(doc, layer, STYLE, preset="fast", steps=5, scales=1, size=192, tile_size=64,
                              tile_overlap=16, seed=0, device="cpu", progress=progress, cancel=cancel)

    record = attempt(doc, call)
    record["latency"] = time.monotonic() - reads["at"] if "at" in reads else None
    return record


def check_words():
    """Every listed bad input: the plugin's or engine's own error, one sentence, no run, nothing changed."""
    from neural_style.api import stylize_layers
    doc, layer = image_doc(48, 32)
    other, other_layer = image_doc(48, 32)
    out = {}
    cases = {
        "seed_2_70": dict(seed=2**70),
        "steps_abc": dict(steps="abc"),
        "size_list": dict(size=[64]),
        "strength_abc": dict(style_strength="strong"),
        "strength_nan": dict(style_strength=float("nan")),
        "style_weight_nan": dict(style_weight=float("nan")),
        "style_weight_inf": dict(style_weight=float("inf")),
        "preset_none": dict(preset=None),
    }
    for name, options in cases.items():
        kwargs = dict(FAST, **options)
        out[name] = attempt(doc, lambda p, kwargs=kwargs: stylize_layers(doc, layer, STYLE, progress=p, **kwargs))
    out["root_node"] = attempt(doc, lambda p: stylize_layers(doc, doc.rootNode(), STYLE, progress=p, **FAST))
    out["other_document"] = attempt(doc, lambda p: stylize_layers(doc, other_layer, STYLE, progress=p, **FAST))
    out["not_a_node"] = attempt(doc, lambda p: stylize_layers(doc, "photo", STYLE, progress=p, **FAST))
    out["not_a_document"] = attempt(doc, lambda p: stylize_layers("bad", layer, STYLE, progress=p, **FAST))
    out["style_number"] = attempt(doc, lambda p: stylize_layers(doc, layer, 42, progress=p, **FAST))
    other.close()
    return out


def check_nan_pixel():
    """A float layer with one NaN pixel is styled (NaN counts as black), and the result holds no NaN."""
    import math
    import struct
    from neural_style.api import stylize_layers
    doc, photo = image_doc(40, 32)
    flt = doc.createNode("float", "paintlayer")
    doc.rootNode().addChildNode(flt, None)
    flt.setColorSpace("RGBA", "F32", "sRGB-elle-V2-g10.icc")
    pixel = struct.pack("<4f", 0.2, 0.4, 0.6, 1.0)
    flt.setPixelData(QByteArray(pixel * (40 * 32)), 0, 0, 40, 32)
    flt.setPixelData(QByteArray(struct.pack("<4f", float("nan"), 0.5, 0.5, 1.0)), 5, 6, 1, 1)
    doc.waitForDone()
    record = attempt(doc, lambda p: stylize_layers(doc, flt, STYLE, progress=p, **FAST))
    new = [n for n in doc.rootNode().childNodes() if n.name().startswith("Styled")]
    if new:
        data = bytes(new[0].pixelData(0, 0, 40, 32))
        values = struct.unpack(f"<{len(data) // 4}f", data)
        record["result_nan"] = sum(1 for v in values if math.isnan(v))
    return record


def __main__(args):
    OUT[0] = args[0]
    sys.argv_bombs = args[1]
    import neural_style  # noqa: F401
    run("words", check_words)
    run("bombs", check_bombs)
    run("nan_pixel", check_nan_pixel)
    run("huge_working_size", check_huge_working_size)
    run("cancel_large", check_cancel_at_a_large_size)
    save()
