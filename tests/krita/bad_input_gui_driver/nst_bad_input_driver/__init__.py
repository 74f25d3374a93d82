"""Test-only pykrita plugin: bad input and faults through the real Krita GUI (issue 10).

Installed only into a temporary $HOME by tests/test_bad_input_gui.py; configured by the
JSON file named in $NST_BAD_INPUT_CONFIG; writes its findings to config["out"], then exits.

The checks run as one linear script (:func:`script`, a generator): it yields a condition
to wait for (polled on the GUI thread's event loop) or a number of seconds to let the
event loop run. Memory is Krita's own (``/proc/self/status``): VmRSS, and VmHWM (peak)
after resetting it through ``/proc/self/clear_refs``.
"""
import sys
import time
import traceback

from krita import Krita
from neural_style.qt import QtCore
QByteArray, QTimer = QtCore.QByteArray, QtCore.QTimer

from nst_driver_harness import CONFIG, RESULT, boot, finish, log, top_widget  # copied beside this plugin (support.install_driver)

MB = 2**20


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


class Runner:
    """Drives a generator: a callable is polled until true, a number is a pause in seconds."""

    def __init__(self, generator):
        self.generator = generator
        self.deadline = None

    def start(self):
        self.next()

    def next(self, value=None):
        try:
            item = self.generator.send(value)
        except StopIteration:
            finish()
            return
        except Exception:
            RESULT["errors"].append(traceback.format_exc())
            finish()
            return
        if callable(item):
            self.deadline = time.monotonic() + 120
            QTimer.singleShot(50, lambda: self.poll(item))
        else:
            QTimer.singleShot(int(float(item) * 1000), self.next)

    def poll(self, condition):
        try:
            value = condition()
        except Exception:
            RESULT["errors"].append(traceback.format_exc())
            finish()
            return
        if value:
            self.next(value)
        elif time.monotonic() > self.deadline:
            RESULT["errors"].append(f"timed out waiting: {getattr(condition, '__name__', condition)}")
            finish()
        else:
            QTimer.singleShot(50, lambda: self.poll(condition))


def script():
    k = Krita.instance()
    yield lambda: k.activeWindow() is not None and k.activeWindow().qwindow().isVisible()
    RESULT["plugin_loaded"] = "neural_style" in sys.modules
    extension = sys.modules["neural_style"].EXTENSION
    doc = k.openDocument(CONFIG["content"])
    k.activeWindow().addView(doc)
    doc.waitForDone()
    yield lambda: k.activeDocument() is not None and k.activeDocument() == doc
    undo = k.action("edit_undo")
    source = [n for n in doc.rootNode().childNodes() if n.type() == "paintlayer"][0]

    def names():
        return [n.name() for n in doc.rootNode().childNodes()]

    # ---------------------------------------------------------------- 5. one undo step per result
    from neural_style.api import stylize_layers
    for case in ("masked", "blend"):
        log(f"undo case {case}")
        layer = doc.createNode(case, "paintlayer")
        doc.rootNode().addChildNode(layer, None)
        layer.setPixelData(QByteArray(b"\x20\x90\xe0\xff" * (48 * 32)), 0, 0, 48, 32)
        # the last setup step differs from the step a hidden extra one would be (so one undo
        # after styling must land exactly on it): masked: "Add Layer" (the mask) vs. a hidden
        # "Convert Layer Color Space"; blend: "Convert Layer Color Space" vs. "Composition Mode Change"
        if case == "masked":
            layer.setColorSpace("RGBA", "U16", "sRGB-elle-V2-srgbtrc.icc")  # differs from the image's U8
            mask = doc.createNode("mask", "transparencymask")
            layer.addChildNode(mask, None)
        else:
            layer.setBlendingMode("multiply")
            layer.setColorSpace("RGBA", "U16", "sRGB-elle-V2-srgbtrc.icc")
        doc.waitForDone()
        yield 0.5
        info = {"names_before": names(), "undo_before": undo.text()}
        new = stylize_layers(doc, layer, CONFIG["style"], steps=1, size=32, seed=0, device="cpu")
        doc.waitForDone()
        yield 0.3
        info.update(undo_after=undo.text(), names_after=names(), new_depth=new[0].colorDepth(),
                    new_blending=new[0].blendingMode(), source_blending=layer.blendingMode(),
                    source_children=[c.type() for c in layer.childNodes()])
        undo.trigger()
        yield 0.8
        doc.waitForDone()
        info.update(undo_after_one_undo=undo.text(), names_after_undo=names(), depth_after_undo=layer.colorDepth())
        RESULT[f"undo_{case}"] = info

    # ---------------------------------------------------------------- 1. thumbnail of a bomb, bomb as the style
    doc.setActiveNode(source)
    k.action("neural_style_transfer").trigger()
    dialog = yield lambda: top_widget("neural_style_dialog")
    from neural_style.qt import QtWidgets
    QComboBox, QPushButton, QSpinBox, QToolButton = QtWidgets.QComboBox, QtWidgets.QPushButton, QtWidgets.QSpinBox, QtWidgets.QToolButton
    dialog.findChild(QToolButton, "advanced_toggle").setChecked(True)
    dialog.set_style_file(CONFIG["style"])
    yield lambda: dialog.thumb.pixmap() is not None and not dialog.thumb.pixmap().isNull()
    RESULT["thumbnail_ok"] = [dialog.thumb.pixmap().width(), dialog.thumb.pixmap().height()]
    # the dialog's one-time speed measurement (plugin/cost.py) runs on the engine thread first:
    # its memory is its own, not what a bomb costs
    yield lambda: dialog.estimate is not None and dialog.estimate.seconds is not None
    base = reset_peak()
    t0 = time.monotonic()
    dialog.set_style_file(CONFIG["bomb_20000"])
    gui_call = time.monotonic() - t0
    yield lambda: dialog.thumb.text() == "too large"
    RESULT["thumbnail_bomb"] = {"gui_thread_seconds": gui_call, "peak_above_start": status("VmHWM") - base,
                                "problem": dialog.problem.text() if dialog.problem.isVisible() else ""}
    names_before = names()
    undo_before = undo.text()
    base = reset_peak()
    dialog.set_style_file(CONFIG["bomb_13000"])
    yield lambda: dialog.thumb.text() == "too large"
    dialog.findChild(QComboBox, "preset").setCurrentIndex(dialog.findChild(QComboBox, "preset").findData("fast"))
    dialog.findChild(QSpinBox, "steps").setValue(1)
    dialog.findChild(QSpinBox, "size").setValue(64)
    run_before = extension.run
    dialog.problem.setText("")
    dialog.findChild(QPushButton, "stylize").click()
    yield 1.0
    RESULT["style_bomb"] = {"problem": dialog.problem.text() if dialog.problem.isVisible() else "",
                            "dialog_open": dialog.isVisible(), "run_started": extension.run is not run_before,
                            "peak_above_start": status("VmHWM") - base, "names_unchanged": names() == names_before,
                            "undo_unchanged": undo.text() == undo_before}

    # ---------------------------------------------------------------- 2. working size far above the layer's
    dialog.set_style_file(CONFIG["style"])
    dialog.findChild(QSpinBox, "size").setValue(8192)
    base = reset_peak()
    t0 = time.monotonic()
    dialog.findChild(QPushButton, "stylize").click()
    yield lambda: extension.run is not None and extension.run is not run_before and extension.run.state != "running"
    run = extension.run
    doc.waitForDone()
    RESULT["huge_size"] = {"state": run.state, "message": run.message, "seconds": time.monotonic() - t0,
                           "peak_above_start": status("VmHWM") - base, "names": names(),
                           "new_bounds": [[n.bounds().width(), n.bounds().height()] for n in run.new_nodes]}
    undo.trigger()
    yield 0.8

    # ---------------------------------------------------------------- 6. memory over 20 dialog runs
    rss = []
    states = []
    for index in range(CONFIG.get("runs", 20)):
        doc.setActiveNode(source)
        previous = extension.run
        k.action("neural_style_transfer").trigger()
        dialog = yield lambda: top_widget("neural_style_dialog")
        dialog.set_style_file(CONFIG["style"])
        dialog.findChild(QComboBox, "preset").setCurrentIndex(dialog.findChild(QComboBox, "preset").findData("fast"))
        dialog.findChild(QSpinBox, "steps").setValue(1)
        dialog.findChild(QSpinBox, "size").setValue(32)
        yield 0.2
        dialog.findChild(QPushButton, "stylize").click()
        yield lambda: extension.run is not previous and extension.run.state != "running"
        states.append(extension.run.state)
        doc.waitForDone()
        undo.trigger()
        yield 0.5
        doc.waitForDone()
        rss.append(status("VmRSS"))
        log(f"run {index + 1}: {rss[-1] / MB:.0f} MB")
    RESULT["memory_runs"] = {"rss": rss, "states": states, "names_after": names()}
    RESULT["names_at_end"] = names()


_RUNNER = boot("NST_BAD_INPUT_CONFIG", lambda: Runner(script()))
