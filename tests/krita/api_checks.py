"""Runs inside ``kritarunner``: the scripting entry point ``neural_style.api.stylize_layers``
end to end with the real engine (tiny sizes, few steps), and its refusals.

Usage: ``kritarunner -s api_checks OUT.json [no-engine]``. With ``no-engine`` the layout
has no sys_paths.txt, so torch/numpy are missing and only the refusal is checked.
"""
import json
import sys
import traceback
from pathlib import Path

from krita import Krita, Selection
from neural_style.qt import QtCore
QByteArray = QtCore.QByteArray

REPO = Path(__file__).resolve().parents[2]
STYLE = str(REPO / "examples" / "style" / "starry_night.jpg")
CONTENT = str(REPO / "examples" / "content" / "chelsea.png")
FAST = dict(preset="fast", steps=4, size=48, seed=0)
RESULTS = {}
OUT = ["api_checks.json"]


def save():
    """Written after every check: a crash in Krita (segfault) still leaves the earlier results."""
    with open(OUT[0] + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(RESULTS, handle, indent=1, default=str)
    __import__("os").replace(OUT[0] + ".tmp", OUT[0])


def run(name, fn):
    print("check:", name, flush=True)
    try:
        RESULTS[name] = fn()
    except Exception:
        RESULTS[name] = {"error": traceback.format_exc()}
    save()


def image_doc(w=64, h=48, depth="U8"):
    """A document whose Background layer holds a scaled copy of the example photo."""
    from neural_style.qt import QtGui
    QImage = QtGui.QImage
    from neural_style.qt import QtCore
    Qt = QtCore.Qt
    doc = Krita.instance().createDocument(w, h, "api", "RGBA", depth, "", 72.0)
    img = QImage(CONTENT).scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation).convertToFormat(QImage.Format.Format_ARGB32)
    ptr = img.constBits(); ptr.setsize(img.sizeInBytes())
    layer = doc.createNode("photo", "paintlayer")
    doc.rootNode().addChildNode(layer, None)
    if depth != "U8":
        layer.setColorSpace("RGBA", "U8", doc.colorProfile() if depth == "U8" else "sRGB-elle-V2-srgbtrc.icc")
    layer.setPixelData(QByteArray(bytes(ptr)), 0, 0, w, h)  # ARGB32 little-endian = BGRA bytes
    return doc, layer


def names(parent):
    return [n.name() for n in parent.childNodes()]


def check_basic():
    from neural_style.api import stylize_layers
    doc, layer = image_doc()
    before = bytes(layer.pixelData(0, 0, 64, 48))
    new = stylize_layers(doc, layer, STYLE, **FAST)
    node = new[0]
    after = bytes(node.pixelData(0, 0, 64, 48))
    diff = sum(abs(a - b) for a, b in zip(before[::7], after[::7])) / len(before[::7])
    return {"count": len(new), "names": names(doc.rootNode()), "new_name": node.name(),
            "source_unchanged": bytes(layer.pixelData(0, 0, 64, 48)) == before,
            "mean_abs_diff": diff, "alpha_kept": after[3::4] == before[3::4],
            "bounds": [node.bounds().x(), node.bounds().y(), node.bounds().width(), node.bounds().height()]}


def check_layer_style_and_several():
    from neural_style.api import stylize_layers
    doc, photo = image_doc(48, 40)
    second = doc.createNode("second", "paintlayer")
    doc.rootNode().addChildNode(second, photo)
    second.setPixelData(QByteArray(b"\x20\x90\xe0\xff" * (16 * 12)), 4, 4, 16, 12)
    second.setColorSpace("RGBA", "F32", "sRGB-elle-V2-g10.icc")  # a float layer in an 8-bit document
    styler = doc.createNode("style source", "paintlayer")
    doc.rootNode().addChildNode(styler, None)
    styler.setPixelData(QByteArray(bytes(range(256)) * 24), 0, 0, 48, 32)
    new = stylize_layers(doc, [photo, second], styler, **FAST)
    return {"names": names(doc.rootNode()), "new": [n.name() for n in new],
            "depths": [[n.colorModel(), n.colorDepth()] for n in new],
            "second_bounds": [new[1].bounds().x(), new[1].bounds().y(), new[1].bounds().width(), new[1].bounds().height()]}


def check_selection():
    from neural_style.api import stylize_layers
    doc, layer = image_doc()
    sel = Selection()
    sel.select(10, 8, 30, 20, 255)
    doc.setSelection(sel)
    new = stylize_layers(doc, layer, STYLE, **FAST)[0]
    b = new.bounds()
    data = bytes(new.pixelData(0, 0, 64, 48))
    alpha = data[3::4]
    inside = [alpha[y * 64 + x] for y in range(8, 28) for x in range(10, 40)]
    outside = [alpha[y * 64 + x] for y in range(48) for x in range(64) if not (8 <= y < 28 and 10 <= x < 40)]
    return {"bounds": [b.x(), b.y(), b.width(), b.height()], "inside_min": min(inside), "outside_max": max(outside)}


def check_refusals():
    from neural_style import errors
    from neural_style.api import stylize_layers
    import nst_core
    out = {}
    doc = Krita.instance().createDocument(16, 16, "cmyk", "CMYKA", "U8", "", 72.0)
    try:
        stylize_layers(doc, doc.rootNode().childNodes()[0], STYLE, **FAST); out["cmyk"] = "no error"
    except errors.PluginError as e:
        out["cmyk"] = [type(e).__name__, str(e)]
    out["cmyk_children"] = names(doc.rootNode())
    doc2, layer = image_doc(32, 24)
    try:
        stylize_layers(doc2, layer, STYLE, cancel=lambda: True, **FAST); out["cancel"] = "no error"
    except nst_core.Cancelled:
        out["cancel"] = "Cancelled"
    try:
        stylize_layers(doc2, layer, "/nonexistent/style.png", **FAST); out["missing_style"] = "no error"
    except errors.PluginError as e:
        out["missing_style"] = [type(e).__name__, str(e)]
    try:
        stylize_layers(doc2, layer, STYLE, preset="fast", steps=0, size=8); out["bad_config"] = "no error"
    except nst_core.NSTError as e:
        out["bad_config"] = [type(e).__name__, str(e)]
    out["doc2_children"] = names(doc2.rootNode())
    return out


def spin_until(condition, timeout=60.0):
    """Run Qt's event loop (queued signals from the worker) until ``condition()`` or timeout."""
    import time
    from neural_style.qt import QtCore
    QEventLoop, QTimer = QtCore.QEventLoop, QtCore.QTimer
    loop = QEventLoop()
    deadline = time.monotonic() + timeout

    def poll():
        if condition() or time.monotonic() > deadline:
            loop.quit()
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    loop.exec()
    return condition()


def start_run(doc, layer, steps, **extra):
    from neural_style import jobs
    from neural_style.controller import StyleRun
    style = jobs.style_from_path(STYLE)
    job = jobs.prepare(doc, layer, style.label)
    run = StyleRun([job], style, "fast", dict(steps=steps, size=48, seed=0, device="cpu", **extra))
    run.start()
    return run


def check_controller():
    """The GUI-side run (worker thread + progress window) outside the GUI test:
    out of memory -> retry offers -> retry on the CPU; document closed / layer deleted
    while working -> a message and no change."""
    import nst_core
    out = {}
    real = nst_core.stylize
    calls = {"n": 0}

    def oom_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise nst_core.OutOfMemory("The GPU ran out of memory at 48 px: use a smaller size or the CPU.", "cuda")
        return real(*args, **kwargs)

    nst_core.stylize = oom_once
    try:
        doc, layer = image_doc(40, 32)
        run = start_run(doc, layer, 3)
        spin_until(lambda: run.state != "running")
        p = run.progress
        out["oom"] = {"state": run.state, "message": run.message,
                      "retry_smaller_offered": p.smaller_button.isVisibleTo(p),
                      "retry_cpu_offered": p.cpu_button.isVisibleTo(p),
                      "message_shown": p.message.text(),
                      "names": names(doc.rootNode())}
        run.retry_cpu()
        spin_until(lambda: run.state != "running")
        out["retry"] = {"state": run.state, "device": run.options.get("device"), "names": names(doc.rootNode())}
    finally:
        nst_core.stylize = real

    doc, layer = image_doc(40, 32)
    run = start_run(doc, layer, 400)
    spin_until(lambda: run.progress.bar.value() >= 1)
    doc.close()
    spin_until(lambda: run.state != "running")
    out["closed"] = {"state": run.state, "message": run.message}

    doc, layer = image_doc(40, 32)
    run = start_run(doc, layer, 400)
    spin_until(lambda: run.progress.bar.value() >= 1)
    layer.remove()
    spin_until(lambda: run.state != "running")
    out["deleted"] = {"state": run.state, "message": run.message, "names": names(doc.rootNode())}
    return out


def check_no_engine():
    import neural_style  # noqa: F401
    from neural_style import engine_bridge, errors
    from neural_style.api import stylize_layers
    missing = engine_bridge.missing_dependency()
    doc = Krita.instance().createDocument(16, 16, "x", "RGBA", "U8", "", 72.0)
    try:
        stylize_layers(doc, doc.rootNode().childNodes()[0], STYLE); raised = "no error"
    except errors.PluginError as e:
        raised = [type(e).__name__, str(e)]
    return {"missing": str(missing) if missing else None, "raised": raised,
            "triton_blocked": "triton" in sys.modules and sys.modules["triton"] is None,
            "extension": type(neural_style.EXTENSION).__name__}


def __main__(args):
    OUT[0] = args[0] if args else OUT[0]
    if len(args) > 1 and args[1] == "no-engine":
        run("no_engine", check_no_engine)
    else:
        import neural_style  # noqa: F401
        RESULTS["triton_blocked"] = sys.modules.get("triton", "absent") is None
        from neural_style import qt
        RESULTS["qt_binding"], RESULTS["krita_version"] = qt.BINDING, Krita.instance().version()
        run("basic", check_basic)
        run("layer_style_and_several", check_layer_style_and_several)
        run("selection", check_selection)
        run("refusals", check_refusals)
        run("controller", check_controller)
        RESULTS["triton_still_blocked"] = sys.modules.get("triton", "absent") is None
    save()
