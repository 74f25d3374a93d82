"""Test-only pykrita plugin: checks Neural Style's dialog and runs in the real Krita GUI (Xvfb).

Installed only into a temporary $HOME by tests/test_plugin_dialog_gui.py; configured by the
JSON file in $NST_GUI_TEST_CONFIG; writes its findings to config["out"], then exits.

Sequence: open the photo, add two layers that share a name → the dialog: its fields as
declared, the default preset, the style-layer list, its height with Advanced open, the red
problem after *Stylize* without a style and after a style is picked → two runs on the same
layer (where the second result goes) → a cancelled run (what the progress window says) →
the scripting API with style strength 0 → write JSON → exit.
"""
import sys

from krita import Krita
from neural_style.qt import QtWidgets
QApplication = QtWidgets.QApplication

from nst_driver_harness import CONFIG, RESULT, boot, finish, top_widget, wait_for  # copied beside this plugin (support.install_driver)


def spin(dialog, name):
    from neural_style.qt import QtWidgets
    QAbstractSpinBox = QtWidgets.QAbstractSpinBox
    widget = dialog.findChild(QAbstractSpinBox, name)
    return [widget.minimum(), widget.maximum(), widget.toolTip(), widget.specialValueText()]


class Driver:
    def __init__(self):
        self.k = Krita.instance()

    def plugin(self):
        return sys.modules["neural_style"].EXTENSION

    def names(self):
        return [n.name() for n in self.doc.rootNode().childNodes()]

    def start(self):
        wait_for(lambda: self.k.activeWindow() is not None and self.k.activeWindow().qwindow().isVisible(),
                 self.open_document, "main window")

    def open_document(self, _):
        self.doc = self.k.openDocument(CONFIG["content"])
        self.k.activeWindow().addView(self.doc)
        self.doc.waitForDone()
        photo = [n for n in self.doc.rootNode().childNodes() if n.type() == "paintlayer"][0]
        for _ in range(2):  # two layers named alike, above the photo
            twin = self.doc.createNode("twin", "paintlayer")
            self.doc.rootNode().addChildNode(twin, None)
        self.source = photo.duplicate()  # the layer to style is the top one, as in a new document
        self.source.setName("photo")
        self.doc.rootNode().addChildNode(self.source, None)
        self.doc.setActiveNode(self.source)
        self.doc.waitForDone()
        wait_for(lambda: self.k.activeDocument() == self.doc and self.doc.activeNode() == self.source,
                 self.open_dialog, "document view")

    def open_dialog(self, _):
        self.k.action("neural_style_transfer").trigger()
        wait_for(lambda: top_widget("neural_style_dialog"), self.inspect, "dialog", timeout=30)

    def inspect(self, dialog):
        from neural_style.qt import QtWidgets
        QComboBox, QPushButton, QToolButton = QtWidgets.QComboBox, QtWidgets.QPushButton, QtWidgets.QToolButton
        preset = dialog.findChild(QComboBox, "preset")
        RESULT["preset"] = {"current": preset.currentData(), "items": [preset.itemData(i) for i in range(preset.count())],
                            "hint": dialog.preset_hint.text()}
        RESULT["fields"] = {name: spin(dialog, name) for name in ("style_strength", "steps", "size", "style_scale", "seed")}
        layers = dialog.findChild(QComboBox, "style_layer")
        RESULT["style_layers"] = [layers.itemText(i) for i in range(layers.count())]
        RESULT["style_layer_is_target"] = dialog.style_node().uniqueId() == self.source.uniqueId()
        dialog.findChild(QToolButton, "advanced_toggle").setChecked(True)
        QApplication.processEvents()
        screen = dialog.windowHandle().screen().availableGeometry()
        RESULT["fit"] = {"dialog": dialog.frameGeometry().height(), "screen": screen.height(),
                         "advanced_visible": dialog.advanced.isVisible()}
        files = dialog.findChild(QComboBox, "style_file")
        RESULT["first_use"] = {"style_path": dialog.style_path(), "offered": [files.itemData(i) for i in range(files.count())]}
        files.setCurrentIndex(-1)  # no painting chosen
        dialog.findChild(QPushButton, "stylize").click()
        QApplication.processEvents()
        RESULT["problem_without_style"] = dialog.problem.text() if dialog.problem.isVisible() else ""
        self.type_style_path(dialog)
        RESULT["problem_after_style"] = dialog.problem.text() if dialog.problem.isVisible() else ""
        preset.setCurrentIndex(preset.findData("fast"))
        dialog.fields["steps"].setValue(CONFIG["steps"])
        dialog.fields["size"].setValue(CONFIG["size"])
        self.runs = []
        self.stylize(dialog)

    def type_style_path(self, dialog):
        """The painting's path pasted into the file box as a file manager copies it (a file://
        URL, in quotes), then Enter: chosen as if browsed to, and Enter starts no run."""
        from neural_style.qt import QtCore, QtGui, QtWidgets
        Qt, QEvent, QKeyEvent = QtCore.Qt, QtCore.QEvent, QtGui.QKeyEvent
        edit = dialog.findChild(QtWidgets.QComboBox, "style_file").lineEdit()
        edit.setFocus()
        edit.setText(f' "file://{CONFIG["style"]}" ')
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(edit, QKeyEvent(kind, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier))
        QApplication.processEvents()
        RESULT["typed_path"] = {"style_path": dialog.style_path(), "shown": edit.text(), "pasted": CONFIG["style"],
                                "run_started": self.plugin().run is not None, "dialog_open": dialog.isVisible()}

    def stylize(self, dialog):
        from neural_style.qt import QtWidgets
        QPushButton = QtWidgets.QPushButton
        dialog.findChild(QPushButton, "stylize").click()
        wait_for(lambda: self.plugin().run is not None and self.plugin().run.state not in ("idle", "running")
                 and self.plugin().run, self.run_done, f"run {len(self.runs) + 1}", timeout=CONFIG["timeout"])

    def run_done(self, run):
        self.doc.waitForDone()
        self.runs.append({"state": run.state, "message": run.message, "names": self.names(),
                          "detail": run.progress.detail.text()})
        self.plugin().run = None
        if len(self.runs) < 2:
            self.doc.setActiveNode(self.source)
            wait_for(lambda: self.doc.activeNode() == self.source, self.again, "source active again")
            return
        RESULT["runs"] = self.runs
        self.cancel_run()

    def again(self, _):
        self.k.action("neural_style_transfer").trigger()
        wait_for(lambda: top_widget("neural_style_dialog"), self.stylize, "dialog again", timeout=30)

    def cancel_run(self):
        self.doc.setActiveNode(self.source)
        self.k.action("neural_style_transfer").trigger()

        def start(dialog):
            from neural_style.qt import QtWidgets
            QPushButton = QtWidgets.QPushButton
            dialog.fields["steps"].setValue(300)
            dialog.findChild(QPushButton, "stylize").click()
            wait_for(lambda: self.plugin().run is not None and self.plugin().run.progress.bar.value() >= 1
                     and self.plugin().run, click_cancel, "cancel run first step", timeout=90, interval=20)

        def click_cancel(run):
            self.names_before_cancel = self.names()
            self.bar_before_cancel = run.progress.bar.value()
            run.progress.cancel_button.click()
            wait_for(lambda: run.state != "running" and run, cancelled, "cancelled", timeout=60, interval=50)

        def cancelled(run):
            RESULT["cancel"] = {"state": run.state, "visible": run.progress.isVisible(),
                                "title": run.progress.title.text(), "message": run.progress.message.text(),
                                "message_visible": run.progress.message.isVisible(),
                                "close_visible": run.progress.close_button.isVisible(),
                                "names_unchanged": self.names() == self.names_before_cancel,
                                "bar": [self.bar_before_cancel, run.progress.bar.value(), run.progress.bar.maximum()]}
            self.refusal_checks()

        wait_for(lambda: top_widget("neural_style_dialog"), start, "dialog for cancel", timeout=30)

    def dialog_state(self, dialog):
        return {"cost": dialog.cost.text(), "stylize": dialog.stylize_button.isEnabled(),
                "seconds": dialog.estimate.seconds if dialog.estimate is not None else None,
                "note": dialog.selection_note.text() if dialog.selection_note.isVisible() else ""}

    def reopen(self, node, then):
        """Close the open dialog, make ``node`` active, open the dialog again, then ``then(dialog)``."""
        dialog = top_widget("neural_style_dialog")
        if dialog is not None:
            dialog.reject()
        self.doc.setActiveNode(node)
        self.doc.waitForDone()

        def trigger(_):
            self.k.action("neural_style_transfer").trigger()
            wait_for(lambda: top_widget("neural_style_dialog"), then, "dialog reopened", timeout=30)

        wait_for(lambda: top_widget("neural_style_dialog") is None and self.doc.activeNode() == node, trigger,
                 "dialog closed")

    def refusal_checks(self):
        """Issue 21, findings 1, 4 and 5: what the dialog says before the click."""
        from krita import Selection
        from neural_style.qt import QtCore
        paper = self.doc.createNode("paper", "paintlayer")
        self.doc.rootNode().addChildNode(paper, None)
        paper.setPixelData(QtCore.QByteArray(b"\x80" * (4 * 32 * 32)), 0, 0, 32, 32)
        RESULT["cmyk_converted"] = paper.setColorSpace("CMYKA", "U8", "Chemical proof") and paper.colorModel()
        self.doc.waitForDone()
        checks = RESULT["before_click"] = {}

        def cmyk(dialog):
            dialog.set_style_file(CONFIG["style"])
            QApplication.processEvents()
            checks["cmyk"] = self.dialog_state(dialog)
            selection = Selection()
            selection.select(0, 0, 48, 64, 255)  # the left half of the 96×64 photo
            self.doc.setSelection(selection)
            self.reopen(self.source, regions)

        def regions(dialog):
            dialog.set_style_file(CONFIG["style"])
            mode = dialog.regions_mode
            QApplication.processEvents()
            checks["selection"] = self.dialog_state(dialog)
            mode.setCurrentIndex(mode.findData("selection_two"))
            QApplication.processEvents()
            checks["regions_no_second"] = self.dialog_state(dialog)
            dialog.set_second_style_file(CONFIG["style"])
            QApplication.processEvents()
            checks["regions"] = self.dialog_state(dialog)
            self.doc.setSelection(Selection())
            self.reopen(self.source, no_selection)

        def no_selection(dialog):
            mode = dialog.regions_mode
            mode.setCurrentIndex(mode.findData("selection_keep"))
            QApplication.processEvents()
            checks["regions_no_selection"] = self.dialog_state(dialog)
            dialog.reject()
            self.api_strength()

        self.reopen(paper, cmyk)

    def api_strength(self):
        from neural_style.api import stylize_layers
        names = self.names()
        try:
            stylize_layers(self.doc, self.source, CONFIG["style"], preset="fast", steps=1, size=32, style_strength=0)
            RESULT["strength_zero"] = "no error"
        except Exception as error:
            RESULT["strength_zero"] = [type(error).__name__, str(error)]
        RESULT["strength_zero_unchanged"] = self.names() == names
        finish()


_DRIVER = boot("NST_GUI_TEST_CONFIG", Driver)
