"""Test-only pykrita plugin: drives Neural Style's *Regions* in the real Krita GUI (under Xvfb).

Installed only into a temporary $HOME by tests/test_plugin_regions_gui.py; configured by the
JSON file in $NST_GUI_TEST_CONFIG; writes its findings to config["out"], then exits.

Sequence: open the photo → select its left half → the dialog: Regions = "Selection gets this
painting, the rest a second one", Starry Night + Matisse → Stylize → one new layer, the undo
text, each half's mean colour → edit_undo → the scripting API with a layer's alpha as the
left mask and None for the rest → one new layer → edit_undo → write JSON → exit.
"""
import sys

from krita import Krita, Selection
from neural_style.qt import QtCore
QByteArray, QTimer = QtCore.QByteArray, QtCore.QTimer
from neural_style.qt import QtWidgets
QApplication = QtWidgets.QApplication

from nst_driver_harness import CONFIG, RESULT, boot, fail, finish, log, top_widget, wait_for  # copied beside this plugin (support.install_driver)


def halves_mean(node, width, height):
    """Mean BGRA bytes of the left and right halves of an 8-bit node."""
    data = bytes(node.pixelData(0, 0, width, height))
    left, right = [0.0] * 3, [0.0] * 3
    for y in range(height):
        for x in range(width):
            i = 4 * (y * width + x)
            side = left if x < width // 2 else right
            for c in range(3):
                side[c] += data[i + c]
    count = height * (width // 2)
    return [round(v / count, 2) for v in left], [round(v / count, 2) for v in right]


class Driver:
    def __init__(self):
        self.k = Krita.instance()
        self.doc = None
        self.source = None

    def names(self):
        return [n.name() for n in self.doc.rootNode().childNodes()]

    def start(self):
        wait_for(lambda: self.k.activeWindow() is not None and self.k.activeWindow().qwindow().isVisible(),
                 self.open_document, "main window")

    def open_document(self, _):
        self.doc = self.k.openDocument(CONFIG["content"])
        self.k.activeWindow().addView(self.doc)
        self.doc.waitForDone()
        wait_for(lambda: self.k.activeDocument() == self.doc, self.trigger, "document view")

    def trigger(self, _):
        self.source = [n for n in self.doc.rootNode().childNodes() if n.type() == "paintlayer"][0]
        self.doc.setActiveNode(self.source)
        self.width, self.height = self.doc.width(), self.doc.height()
        selection = Selection()
        selection.select(0, 0, self.width // 2, self.height, 255)
        self.doc.setSelection(selection)
        self.doc.waitForDone()
        self.before = self.names()
        RESULT["source_name"] = self.source.name()
        RESULT["source_halves"] = halves_mean(self.source, self.width, self.height)
        self.k.action("neural_style_transfer").trigger()
        wait_for(lambda: top_widget("neural_style_dialog"), self.fill_dialog, "style dialog", timeout=30)

    def fill_dialog(self, dialog):
        from neural_style.qt import QtWidgets
        QComboBox, QPushButton, QSpinBox = QtWidgets.QComboBox, QtWidgets.QPushButton, QtWidgets.QSpinBox
        dialog.set_style_file(CONFIG["style"])
        dialog.set_second_style_file(CONFIG["second_style"])
        mode = dialog.findChild(QComboBox, "regions_mode")
        mode.setCurrentIndex(mode.findData("selection_two"))
        preset = dialog.findChild(QComboBox, "preset")
        preset.setCurrentIndex(preset.findData("fast"))
        dialog.findChild(QSpinBox, "steps").setValue(CONFIG.get("steps", 4))
        dialog.findChild(QSpinBox, "size").setValue(CONFIG.get("size", 64))
        dialog.findChild(QSpinBox, "seed").setValue(1)
        QApplication.processEvents()
        RESULT["dialog_problem_before"] = dialog.problem.text() if dialog.problem.isVisible() else ""
        log("click Stylize")
        dialog.findChild(QPushButton, "stylize").click()
        plugin = sys.modules["neural_style"].EXTENSION

        def started():
            if top_widget("neural_style_dialog") is not None and dialog.problem.isVisible():
                RESULT["dialog_problem"] = dialog.problem.text()
                return "problem"
            return plugin.run is not None and plugin.run.state != "idle"

        def go(value):
            if value == "problem":
                finish()
                return
            wait_for(lambda: plugin.run.state != "running", self.dialog_done, "worker", timeout=CONFIG.get("timeout", 150))

        wait_for(started, go, "run started", timeout=30)

    def dialog_done(self, _):
        run = sys.modules["neural_style"].EXTENSION.run
        RESULT["dialog_run"] = {"state": run.state, "message": run.message}
        if run.state != "done":
            finish()
            return
        self.doc.waitForDone()
        new = run.new_nodes
        bounds = new[0].bounds()
        RESULT["dialog"] = {
            "new_count": len(new), "names": self.names(), "new_name": new[0].name(),
            "bounds": [bounds.x(), bounds.y(), bounds.width(), bounds.height()],
            "halves": halves_mean(new[0], self.width, self.height),
            "undo_text": self.k.action("edit_undo").text(),
        }
        self.k.action("edit_undo").trigger()
        QTimer.singleShot(800, self.after_dialog_undo)

    def after_dialog_undo(self):
        try:
            self.doc.waitForDone()
            RESULT["dialog"]["names_after_undo"] = self.names()
            RESULT["names_before"] = self.before
            self.api()
        except Exception:
            fail("after the dialog's undo")

    def api(self):
        from neural_style.api import stylize_layers
        self.doc.setSelection(Selection())  # no selection: the masks alone say where
        self.doc.waitForDone()
        region = self.doc.createNode("left region", "paintlayer")
        self.doc.rootNode().addChildNode(region, None)
        row = b"\x00\x00\x00\xff" * (self.width // 2) + b"\x00\x00\x00\x00" * (self.width - self.width // 2)
        region.setPixelData(QByteArray(row * self.height), 0, 0, self.width, self.height)
        region.setVisible(False)
        self.doc.waitForDone()
        before = self.names()
        undo_before = self.k.action("edit_undo").text()
        new = stylize_layers(self.doc, [self.source], [CONFIG["style"], CONFIG["second_style"]], masks=[region, None],
                             steps=CONFIG.get("steps", 4), size=CONFIG.get("size", 64), seed=0, device="cpu")
        self.doc.waitForDone()
        RESULT["api"] = {"new_count": len(new), "names_before": before, "names": self.names(),
                         "new_name": new[0].name(), "halves": halves_mean(new[0], self.width, self.height),
                         "undo_before": undo_before}

        def undo():  # the undo action's text is updated by the event loop
            self.doc.waitForDone()
            RESULT["api"]["undo_text"] = self.k.action("edit_undo").text()
            self.k.action("edit_undo").trigger()
            QTimer.singleShot(800, done)

        def done():
            self.doc.waitForDone()
            RESULT["api"]["names_after_undo"] = self.names()
            finish()

        QTimer.singleShot(800, undo)


_DRIVER = boot("NST_GUI_TEST_CONFIG", Driver)
