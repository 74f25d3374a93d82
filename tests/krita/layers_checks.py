"""Runs inside ``kritarunner`` (offscreen): layer I/O, insertion and selection checks.

Usage: ``kritarunner -s layers_checks OUT.json``. Writes one JSON object; each key is a
check holding either its measurements or ``{"error": traceback}``. pytest judges it.
"""
import json
import sys
import traceback

from krita import Krita, Selection
from neural_style.qt import QtCore
QByteArray = QtCore.QByteArray

import neural_style  # noqa: F401  (bootstrap: sys_paths.txt, triton guard)
import numpy as np
from neural_style import errors, jobs, layers, settings

RESULTS = {}
CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def save(path):
    """Written after every check: a crash in Krita (segfault) still leaves the earlier results."""
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(RESULTS, handle, indent=1, default=str)
    __import__("os").replace(path + ".tmp", path)


def run_checks(path):
    for fn in CHECKS:
        print("check:", fn.__name__, flush=True)
        try:
            RESULTS[fn.__name__] = fn()
        except Exception:
            RESULTS[fn.__name__] = {"error": traceback.format_exc()}
        save(path)


def new_doc(model="RGBA", depth="U8", w=24, h=16):
    doc = Krita.instance().createDocument(w, h, "test", model, depth, "", 72.0)
    return doc


def random_bytes(fmt, w, h, seed=0):
    rng = np.random.default_rng(seed)
    if fmt.is_integer:
        top = np.iinfo(fmt.dtype).max
        return rng.integers(0, top + 1, size=w * h * fmt.channels, dtype=np.uint64).astype(fmt.dtype).tobytes()
    values = rng.uniform(-0.25, 2.0, size=w * h * fmt.channels).astype(fmt.dtype)  # HDR and negatives too
    return values.tobytes()


def add_layer(doc, name, parent=None, above=None):
    node = doc.createNode(name, "paintlayer")
    (parent or doc.rootNode()).addChildNode(node, above)
    return node


def identity_bytes(job):
    """What the result layer holds if the engine returned its input unchanged."""
    return layers.compose(job.content, job.alpha, job.mask, job.fmt)


SPACES = [("RGBA", "U8"), ("RGBA", "U16"), ("RGBA", "F16"), ("RGBA", "F32"),
          ("GRAYA", "U8"), ("GRAYA", "U16"), ("GRAYA", "F32")]


@check
def round_trip():
    """Random pixels -> numpy -> back into a new layer: byte-identical at every depth."""
    out = {}
    for model, depth in SPACES:
        w, h = 13, 7
        doc = new_doc(model, depth, w, h)
        src = add_layer(doc, "src")
        fmt = layers.pixel_format(src)
        raw = random_bytes(fmt, w, h)
        src.setPixelData(QByteArray(raw), 0, 0, w, h)
        rect = layers.Rect(0, 0, w, h)
        values = layers.read_pixels(src, rect, fmt)
        dst = doc.createNode("dst", "paintlayer")
        layers.write_pixels(dst, rect, layers.encode(values, fmt))
        back = bytes(dst.pixelData(0, 0, w, h))
        out[model + depth] = {
            "bytes_equal": back == raw,
            "src_unchanged": bytes(src.pixelData(0, 0, w, h)) == raw,
            "node_depth": [dst.colorModel(), dst.colorDepth()],
            "shape": list(values.shape), "dtype": str(values.dtype),
        }
        doc.close()
    return out


@check
def channel_order():
    """A pure red opaque pixel decodes to (1, 0, 0, 1) at every RGBA depth."""
    out = {}
    for depth in ("U8", "U16", "F16", "F32"):
        doc = new_doc("RGBA", depth, 2, 1)
        node = add_layer(doc, "red")
        fmt = layers.pixel_format(node)
        data = layers.encode(np.array([[[1, 0, 0, 1], [0, 0, 1, 0.5]]], dtype=np.float32), fmt)
        node.setPixelData(QByteArray(data), 0, 0, 2, 1)
        doc.refreshProjection()
        img = doc.projection(0, 0, 2, 1)
        from neural_style.qt import QtGui
        QColor = QtGui.QColor
        c0, c1 = QColor(img.pixel(0, 0)), QColor(img.pixel(1, 0))
        out[depth] = {"decoded": layers.read_pixels(node, layers.Rect(0, 0, 2, 1)).round(3).tolist(),
                      "projection_px0": [c0.red(), c0.green(), c0.blue(), c0.alpha()],
                      "projection_px1_blue": c1.blue() >= 250 and c1.red() < 230 and c1.green() < 230,  # half-transparent blue over white
                      "linear": fmt.linear, "profile": fmt.profile}
        doc.close()
    return out


@check
def engine_colour_identity():
    """to_engine then compose (engine returning its input) changes colours by < 1 step, keeps alpha exactly."""
    out = {}
    for model, depth in SPACES:
        w, h = 9, 5
        doc = new_doc(model, depth, w, h)
        src = add_layer(doc, "src")
        fmt = layers.pixel_format(src)
        rng = np.random.default_rng(1)
        values = rng.uniform(0, 1, size=(h, w, fmt.channels)).astype(np.float32)
        raw = layers.encode(values, fmt)
        src.setPixelData(QByteArray(raw), 0, 0, w, h)
        job = jobs.prepare(doc, src, "s")
        back = layers.decode(identity_bytes(job), w, h, fmt)
        orig = layers.decode(raw, w, h, fmt)
        colour_err = float(np.abs(back[..., :-1] - orig[..., :-1]).max())
        out[model + depth] = {"colour_max_err": colour_err, "alpha_exact": bool(np.array_equal(back[..., -1], orig[..., -1])),
                              "content_shape": list(job.content.shape), "content_range": [float(job.content.min()), float(job.content.max())]}
        doc.close()
    return out


@check
def insertion():
    """Result layer goes directly above its source, same offset and bounds; source untouched."""
    doc = new_doc("RGBA", "U8", 40, 30)
    root = doc.rootNode()
    below = add_layer(doc, "below")
    src = add_layer(doc, "source", above=below)
    top = add_layer(doc, "top", above=src)
    w, h = 10, 6
    fmt = layers.pixel_format(src)
    raw = random_bytes(fmt, w, h, seed=3)
    raw = bytes(b if (i % 4) != 3 else 255 for i, b in enumerate(raw))  # opaque
    src.setPixelData(QByteArray(raw), 4, 5, w, h)
    src.move(7, 3)  # layer offset: pixels now at (11, 8)
    src_before = bytes(src.pixelData(0, 0, 40, 30))
    job = jobs.prepare(doc, src, "style")
    node = jobs.insert_result(job, identity_bytes(job))
    names = [n.name() for n in root.childNodes()]
    # inside a group, with another layer above
    group = doc.createGroupLayer("group")
    root.addChildNode(group, top)
    inner = add_layer(doc, "inner", parent=group)
    add_layer(doc, "inner_top", parent=group, above=inner)
    inner.setPixelData(QByteArray(b"\x10\x20\x30\xff" * 4), 0, 0, 2, 2)
    job2 = jobs.prepare(doc, inner, "style")
    node2 = jobs.insert_result(job2, identity_bytes(job2))
    r = layers.node_rect
    return {
        "names": names,
        "new_name": node.name(),
        "index_source": names.index("source"), "index_new": names.index(node.name()),
        "new_type": node.type(),
        "src_position": [src.position().x(), src.position().y()],
        "new_position": [node.position().x(), node.position().y()],
        "src_bounds": list(r(src).args()), "new_bounds": list(r(node).args()),
        "pixels_equal": bytes(node.pixelData(11, 8, w, h)) == bytes(src.pixelData(11, 8, w, h)),
        "source_unchanged": bytes(src.pixelData(0, 0, 40, 30)) == src_before,
        "group_children": [n.name() for n in group.childNodes()],
        "group_new_parent": node2.parentNode().name(),
    }


@check
def other_depth_layer():
    """A 16-bit layer inside an 8-bit document gives a 16-bit result layer, exactly."""
    doc = new_doc("RGBA", "U8", 8, 8)
    src = add_layer(doc, "deep")
    ok = src.setColorSpace("RGBA", "U16", "sRGB-elle-V2-srgbtrc.icc")
    fmt = layers.pixel_format(src)
    raw = random_bytes(fmt, 8, 8, seed=5)
    src.setPixelData(QByteArray(raw), 0, 0, 8, 8)
    # make it fully opaque so the identity result is comparable
    vals = layers.decode(raw, 8, 8, fmt); vals[..., 3] = 1.0
    raw = layers.encode(vals, fmt)
    src.setPixelData(QByteArray(raw), 0, 0, 8, 8)
    job = jobs.prepare(doc, src, "s")
    node = jobs.insert_result(job, layers.encode(vals, fmt))
    return {"set_ok": ok, "src": [src.colorModel(), src.colorDepth(), src.colorProfile()],
            "new": [node.colorModel(), node.colorDepth(), node.colorProfile()],
            "bytes_equal": bytes(node.pixelData(0, 0, 8, 8)) == raw,
            "order": [n.name() for n in doc.rootNode().childNodes()]}


@check
def selection():
    """With a selection, the result covers only the selected area (rest transparent)."""
    doc = new_doc("RGBA", "U8", 32, 24)
    src = add_layer(doc, "src")
    src.setPixelData(QByteArray(b"\x40\x80\xc0\xff" * (32 * 24)), 0, 0, 32, 24)
    sel = Selection()
    sel.select(5, 4, 10, 8, 255)
    sel.select(20, 10, 4, 4, 128)  # a half-selected square
    doc.setSelection(sel)
    job = jobs.prepare(doc, src, "s")
    node = jobs.insert_result(job, identity_bytes(job))
    full = np.frombuffer(bytes(node.pixelData(0, 0, 32, 24)), dtype=np.uint8).reshape(24, 32, 4)
    alpha = full[..., 3]
    # selection outside the layer
    doc2 = new_doc("RGBA", "U8", 32, 24)
    src2 = add_layer(doc2, "small")
    src2.setPixelData(QByteArray(b"\x40\x80\xc0\xff" * 4), 0, 0, 2, 2)
    sel2 = Selection(); sel2.select(20, 20, 4, 4, 255); doc2.setSelection(sel2)
    try:
        jobs.prepare(doc2, src2, "s"); outside = "no error"
    except errors.PluginError as e:
        outside = [type(e).__name__, str(e)]
    return {
        "work_rect": list(job.rect.args()),
        "new_bounds": list(layers.node_rect(node).args()),
        "alpha_full_region": int(alpha[4:12, 5:15].min()),
        "alpha_half_region": sorted(set(alpha[10:14, 20:24].ravel().tolist())),
        "alpha_outside_max": int(max(alpha[:4].max(), alpha[12:, :20].max(), alpha[:, :5].max())),
        "colour_inside": full[6, 7, :3].tolist(),
        "src_unchanged": bytes(src.pixelData(0, 0, 32, 24)) == b"\x40\x80\xc0\xff" * (32 * 24),
        "outside": outside,
    }


@check
def projection_layers():
    """Group, file and clone layers are read through their projection.

    (Vector shapes cannot be added under kritarunner: ``addShapesFromSvg`` segfaults
    without a view, so vector layers are checked in the GUI test.)
    """
    doc = new_doc("RGBA", "U8", 16, 16)
    group = doc.createGroupLayer("g")
    doc.rootNode().addChildNode(group, None)
    child = add_layer(doc, "child", parent=group)
    child.setPixelData(QByteArray(b"\x01\x02\x03\xff" * 16), 2, 2, 4, 4)
    picture = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "examples" / "content" / "chelsea.png")
    file_layer = doc.createFileLayer("file", picture, "None")
    doc.rootNode().addChildNode(file_layer, None)
    clone = doc.createCloneLayer("clone", child)
    doc.rootNode().addChildNode(clone, None)
    doc.refreshProjection()
    doc.waitForDone()
    gjob = jobs.prepare(doc, group, "s")
    gnode = jobs.insert_result(gjob, identity_bytes(gjob))
    fjob = jobs.prepare(doc, file_layer, "s")
    cjob = jobs.prepare(doc, clone, "s")
    return {"group_rect": list(gjob.rect.args()),
            "group_content_px": (gjob.content[0, 0] * 255).round().tolist(),
            "group_new_type": gnode.type(),
            "group_new_pixels": bytes(gnode.pixelData(2, 2, 1, 1)).hex(),
            "order": [n.name() for n in doc.rootNode().childNodes()],
            "file_rect": list(fjob.rect.args()), "file_content_std": float(fjob.content.std()),
            "clone_rect": list(cjob.rect.args()),
            "clone_content_px": (cjob.content[0, 0] * 255).round().tolist()}


@check
def refusals():
    """Plain-words errors for CMYK/Lab, empty layers and masks; nothing is added."""
    out = {}
    for model, depth in (("CMYKA", "U8"), ("LABA", "U16")):
        doc = new_doc(model, depth, 4, 4)
        node = doc.rootNode().childNodes()[0]
        try:
            jobs.prepare(doc, node, "s"); out[model] = "no error"
        except errors.PluginError as e:
            out[model] = [type(e).__name__, str(e)]
        out[model + "_children"] = len(doc.rootNode().childNodes())
        doc.close()
    doc = new_doc("RGBA", "U8", 4, 4)
    empty = add_layer(doc, "nothing here")
    try:
        jobs.prepare(doc, empty, "s"); out["empty"] = "no error"
    except errors.PluginError as e:
        out["empty"] = [type(e).__name__, str(e)]
    transparent = add_layer(doc, "clear")
    transparent.setPixelData(QByteArray(b"\x10\x10\x10\x00" * 4), 0, 0, 2, 2)
    try:
        jobs.prepare(doc, transparent, "s"); out["transparent"] = "no error"
    except errors.PluginError as e:
        out["transparent"] = [type(e).__name__, str(e)]
    try:
        jobs.prepare(doc, None, "s"); out["none"] = "no error"
    except errors.PluginError as e:
        out["none"] = [type(e).__name__, str(e)]
    out["children_after"] = len(doc.rootNode().childNodes())
    # a removed layer / closed document are caught before inserting
    gone = add_layer(doc, "gone")
    gone.setPixelData(QByteArray(b"\x10\x10\x10\xff" * 4), 0, 0, 2, 2)
    job = jobs.prepare(doc, gone, "s")
    gone.remove()
    try:
        jobs.insert_result(job, identity_bytes(job)); out["removed"] = "no error"
    except errors.PluginError as e:
        out["removed"] = [type(e).__name__, str(e)]
    keep = add_layer(doc, "keep")
    keep.setPixelData(QByteArray(b"\x10\x10\x10\xff" * 4), 0, 0, 2, 2)
    job = jobs.prepare(doc, keep, "s")
    doc.close()
    try:
        jobs.insert_result(job, identity_bytes(job)); out["closed"] = "no error"
    except errors.PluginError as e:
        out["closed"] = [type(e).__name__, str(e)]
    return out


@check
def style_from_layer():
    doc = new_doc("RGBA", "U16", 8, 8)
    node = add_layer(doc, "style layer")
    fmt = layers.pixel_format(node)
    vals = np.zeros((4, 4, 4), np.float32); vals[..., 2] = 1.0; vals[..., 3] = 1.0
    vals[0, 0, 3] = 0.0  # transparent -> white
    node.setPixelData(QByteArray(layers.encode(vals, fmt)), 0, 0, 4, 4)
    s = jobs.resolve_style(doc, node)
    return {"label": s.label, "shape": list(s.image.shape), "px_blue": s.image[1, 1].round(3).tolist(),
            "px_transparent": s.image[0, 0].round(3).tolist()}


@check
def persisted_settings():
    s = settings.PluginSettings(preset="quality", steps=12, size=96, style_strength=2.5, seed=7,
                                preserve_colors="luminance", target="selected")
    s.remember_style("/tmp/a.png"); s.remember_style("/tmp/b.png"); s.remember_style("/tmp/a.png")
    s.save()
    back = settings.PluginSettings.load()
    return {"equal": back == s, "recent": back.recent_styles, "preset": back.preset,
            "raw": Krita.instance().readSetting("neural_style", "recent_styles", "")}


def __main__(args):
    out = args[0] if args else "layers_checks.json"
    RESULTS["_python"] = sys.version
    run_checks(out)
