"""Test-only pykrita plugin: drives Neural Style inside the real Krita GUI (under Xvfb).

Installed only into a temporary $HOME by tests/test_plugin_gui.py. Configured by the JSON
file named in $NST_GUI_TEST_CONFIG; writes its findings to config["out"], then exits.

Sequence: wait for the main window → open the PNG → trigger the action
``neural_style_transfer`` → fill the real dialog through Qt and click *Stylize* → wait for
the worker → check the new layer → ``edit_undo`` → ``edit_redo`` → a cancelled run →
write JSON → exit.
"""
import sys
import time

from krita import Krita
from neural_style.qt import QtCore
QTimer = QtCore.QTimer
from neural_style.qt import QtWidgets
QApplication = QtWidgets.QApplication

from nst_driver_harness import CONFIG, RESULT, boot, fail, finish, log, top_widget, wait_for  # copied beside this plugin (support.install_driver)


def pixels(node, rect):
    return bytes(node.pixelData(rect.x(), rect.y(), rect.width(), rect.height()))


def edit_menu(window):
    """The texts of the Edit menu's entries, as the painter sees them (separators left out)."""
    bar = window.qwindow().menuBar()
    for action in bar.actions():
        if action.menu() is not None and action.text().replace("&", "") == "Edit":
            menu = action.menu()
            menu.aboutToShow.emit()  # menus that fill themselves on opening
            return [a.text() for a in menu.actions() if not a.isSeparator()]
    return None


class Driver:
    def __init__(self):
        self.k = Krita.instance()
        self.doc = None
        self.source = None
        self.rect = None
        self.source_bytes = None

    def plugin(self):
        return sys.modules["neural_style"].EXTENSION

    def names(self):
        return [n.name() for n in self.doc.rootNode().childNodes()]

    # 1. window + document
    def start(self):
        wait_for(lambda: self.k.activeWindow() is not None and self.k.activeWindow().qwindow().isVisible(),
                 self.open_document, "main window", timeout=120)

    def open_document(self, _):
        RESULT["plugin_loaded"] = "neural_style" in sys.modules
        RESULT["triton_blocked"] = sys.modules.get("triton", "absent") is None
        RESULT["action_exists"] = self.k.action("neural_style_transfer") is not None
        if not RESULT["plugin_loaded"] or not RESULT["action_exists"]:
            RESULT["errors"].append("the neural_style plugin or its action is missing")
            finish()
            return
        action = self.k.action("neural_style_transfer")
        RESULT["action_text"] = action.text()
        self.no_document_message(action)
        self.doc = self.k.openDocument(CONFIG["content"])
        self.k.activeWindow().addView(self.doc)
        self.doc.waitForDone()
        wait_for(lambda: self.k.activeDocument() is not None and self.k.activeDocument() == self.doc,
                 self.trigger, "document view")

    def no_document_message(self, action):
        """With no document open the action explains itself in a message box."""
        from neural_style.qt import QtWidgets
        QMessageBox = QtWidgets.QMessageBox
        RESULT["no_document"] = None

        def close_box():
            box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
            if box is None:
                QTimer.singleShot(100, close_box)
                return
            RESULT["no_document"] = box.text()
            box.accept()

        QTimer.singleShot(100, close_box)
        action.trigger()  # returns when the box is closed

    # 2. action -> dialog
    def trigger(self, _):
        self.source = [n for n in self.doc.rootNode().childNodes() if n.type() == "paintlayer"][0]
        self.doc.setActiveNode(self.source)
        self.rect = self.source.bounds()
        self.source_bytes = pixels(self.source, self.rect)
        RESULT["edit_menu_before"] = edit_menu(self.k.activeWindow())
        RESULT["source"] = {"name": self.source.name(), "depth": self.source.colorDepth(),
                            "bounds": [self.rect.x(), self.rect.y(), self.rect.width(), self.rect.height()],
                            "names_before": self.names()}
        log("trigger neural_style_transfer")
        self.k.action("neural_style_transfer").trigger()
        wait_for(lambda: top_widget("neural_style_dialog"), self.fill_dialog, "style dialog", timeout=30)

    def fill_dialog(self, dialog):
        from neural_style.qt import QtWidgets
        QComboBox, QPushButton, QSpinBox, QToolButton = QtWidgets.QComboBox, QtWidgets.QPushButton, QtWidgets.QSpinBox, QtWidgets.QToolButton
        dialog.set_style_file(CONFIG["style"])
        preset = dialog.findChild(QComboBox, "preset")
        dialog.findChild(QToolButton, "advanced_toggle").setChecked(True)
        if CONFIG.get("screenshot"):  # the picture for the README: a painter's everyday values
            preset.setCurrentIndex(preset.findData("balanced"))
            dialog.findChild(QSpinBox, "steps").setValue(0)
            dialog.findChild(QSpinBox, "size").setValue(0)
            dialog.findChild(QSpinBox, "seed").setValue(0)
            dialog.adjustSize()
            QApplication.processEvents()
            RESULT["screenshot_saved"] = dialog.grab().save(CONFIG["screenshot"])
        preset.setCurrentIndex(preset.findData("fast"))
        dialog.findChild(QSpinBox, "steps").setValue(CONFIG.get("steps", 5))
        dialog.findChild(QSpinBox, "size").setValue(CONFIG.get("size", 64))
        dialog.findChild(QSpinBox, "seed").setValue(1)
        QApplication.processEvents()
        RESULT["dialog_problem"] = dialog.problem.text() if dialog.problem.isVisible() else ""
        log("click Stylize")
        self.t_click = time.monotonic()
        dialog.findChild(QPushButton, "stylize").click()
        wait_for(lambda: top_widget("neural_style_progress") or self.plugin().run is not None,
                 self.wait_worker, "progress window", timeout=30)

    # 3. worker
    def wait_worker(self, _):
        run = self.plugin().run
        RESULT["progress_seen"] = top_widget("neural_style_progress") is not None
        RESULT["gui_responsive_ticks"] = 0

        def tick():  # counts event-loop turns while the worker runs: the GUI must not block
            if run.state == "running":
                RESULT["gui_responsive_ticks"] += 1
                QTimer.singleShot(100, tick)

        tick()
        wait_for(lambda: run.state != "running", self.check_result, "worker", timeout=CONFIG.get("timeout", 150))

    def check_result(self, _):
        run = self.plugin().run
        RESULT["run"] = {"state": run.state, "message": run.message, "seconds": time.monotonic() - self.t_click}
        if run.state != "done":
            finish()
            return
        self.doc.waitForDone()
        names = self.names()
        new = run.new_nodes[0]
        RESULT["after_run"] = {
            "names": names, "new_name": new.name(),
            "index_source": names.index(self.source.name()), "index_new": names.index(new.name()),
            "new_bounds": [new.bounds().x(), new.bounds().y(), new.bounds().width(), new.bounds().height()],
            "pixels_changed": pixels(new, self.rect) != self.source_bytes,
            "source_identical": pixels(self.source, self.rect) == self.source_bytes,
            "undo_text": self.k.action("edit_undo").text(),
            "edit_menu": edit_menu(self.k.activeWindow()),
        }
        log("edit_undo")
        self.k.action("edit_undo").trigger()
        QTimer.singleShot(800, self.after_undo)

    # 4. undo / redo
    def after_undo(self):
        try:
            self.doc.waitForDone()
            RESULT["after_undo"] = {"names": self.names(), "undo_text": self.k.action("edit_undo").text(),
                                    "source_identical": pixels(self.source, self.rect) == self.source_bytes}
            log("edit_redo")
            self.k.action("edit_redo").trigger()
            QTimer.singleShot(800, self.after_redo)
        except Exception:
            fail("after undo")

    def after_redo(self):
        try:
            self.doc.waitForDone()
            names = self.names()
            new_name = RESULT["after_run"]["new_name"]
            node = [n for n in self.doc.rootNode().childNodes() if n.name() == new_name]
            RESULT["after_redo"] = {"names": names,
                                    "pixels_changed": bool(node) and pixels(node[0], self.rect) != self.source_bytes,
                                    "source_identical": pixels(self.source, self.rect) == self.source_bytes}
            self.vector_layer()
        except Exception:
            fail("after redo")

    # 5. a vector layer is read through its projection (needs a real view)
    def vector_layer(self):
        from neural_style import jobs
        vector = self.doc.createVectorLayer("shapes")
        self.doc.rootNode().addChildNode(vector, None)
        svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="64pt" height="48pt" viewBox="0 0 64 48">'
               '<rect x="8" y="8" width="24" height="16" fill="#ff0000"/></svg>')
        RESULT["vector_shapes"] = len(vector.addShapesFromSvg(svg))

        def rendered():  # shapes are rendered asynchronously by the view
            self.doc.waitForDone()
            return not vector.bounds().isEmpty()

        def read(_):
            job = jobs.prepare(self.doc, vector, "s")
            mean = job.content.reshape(-1, 3)[job.alpha.reshape(-1) > 0.99].mean(axis=0)
            RESULT["vector"] = {"rect": list(job.rect.args()), "opaque_mean_rgb": [round(float(v), 3) for v in mean]}
            vector.remove()
            self.doc.waitForDone()
            self.cancel_run()

        wait_for(rendered, read, "vector layer rendered", timeout=20)

    # 6. cancel stops within a step and changes nothing
    def cancel_run(self):
        from neural_style import jobs
        from neural_style.controller import StyleRun
        names_before = self.names()
        style = jobs.style_from_path(CONFIG["style"])
        job = jobs.prepare(self.doc, self.source, style.label)
        run = StyleRun([job], style, "fast", {"steps": 300, "size": 64, "seed": 0, "device": "cpu"},
                       self.k.activeWindow().qwindow())
        self.plugin().run = run
        run.start()
        state = {}

        def first_step():
            if CONFIG.get("progress_screenshot"):
                if run.progress.bar.value() < 12:
                    return False
                run.progress.grab().save(CONFIG["progress_screenshot"])
            return run.progress.bar.value() >= 2

        def click_cancel(_):
            state["t"] = time.monotonic()
            state["step"] = run.progress.bar.value()
            run.progress.cancel_button.click()
            wait_for(lambda: run.state != "running", done, "cancel", timeout=60, interval=20)

        def done(_):
            self.doc.waitForDone()
            RESULT["cancel"] = {"state": run.state, "message": run.message,
                                "seconds_to_stop": time.monotonic() - state["t"], "step_at_click": state["step"],
                                "names_unchanged": self.names() == names_before}
            self.other_depth_undo()

        wait_for(first_step, click_cancel, "cancel run first steps", timeout=90, interval=20)


    # 7. a layer in another colour space than the image: still exactly one undo step
    def other_depth_undo(self):
        from neural_style.qt import QtCore
        QByteArray = QtCore.QByteArray
        from neural_style.api import stylize_layers
        deep = self.doc.createNode("deep", "paintlayer")
        self.doc.rootNode().addChildNode(deep, None)  # undo step: add layer
        deep.setColorSpace("RGBA", "U16", "sRGB-elle-V2-srgbtrc.icc")  # undo step: convert
        deep.setPixelData(QByteArray(b"\x00\x40\x00\x80\x00\xc0\xff\xff" * (32 * 24)), 0, 0, 32, 24)
        self.doc.waitForDone()
        names_before = self.names()
        new = stylize_layers(self.doc, deep, CONFIG["style"], steps=2, size=32, seed=0, device="cpu")
        info = {"new_depth": new[0].colorDepth(), "names_after": self.names()}
        self.k.action("edit_undo").trigger()

        def second_undo():
            self.doc.waitForDone()
            info["names_after_undo"] = self.names()
            info["source_depth_after_undo"] = deep.colorDepth()
            self.k.action("edit_undo").trigger()
            QTimer.singleShot(800, done)

        def done():
            self.doc.waitForDone()
            # U8 again: the second undo reverted the source's own conversion, so styling
            # the U16 layer added exactly one undo step
            info["source_depth_after_second_undo"] = deep.colorDepth()
            info["names_before"] = names_before
            RESULT["other_depth"] = info
            self.painted_meanwhile("again", b"\x00\x00\xff\xff", lambda: self.painted_meanwhile("keep", b"\x00\xff\x00\xff", finish))

        QTimer.singleShot(800, second_undo)

    # 8. strokes painted on the source during a run: nothing is inserted until the painter
    #    chooses to keep the result or style the layer again with its new strokes
    def painted_meanwhile(self, choice, bgra, then):
        from neural_style import jobs
        from neural_style.controller import StyleRun
        QByteArray = QtCore.QByteArray
        names_before = self.names()
        style = jobs.style_from_path(CONFIG["style"])
        job = jobs.prepare(self.doc, self.source, style.label)
        run = StyleRun([job], style, "fast", {"steps": 100, "size": 64, "seed": 0, "device": "cpu"},
                       self.k.activeWindow().qwindow())
        self.plugin().run = run
        info = {"choice": choice}
        box = (8, 8, 16, 16)  # x, y, w, h in image coordinates

        def colour_of_read_pixels():  # mean RGB the engine was given over the painted box
            y, x = box[1] - self.rect.y(), box[0] - self.rect.x()
            return [round(float(v), 3) for v in run.jobs[0].content[y:y + box[3], x:x + box[2]].reshape(-1, 3).mean(axis=0)]

        def paint(_):
            info["painted_while"] = run.state
            self.source.setPixelData(QByteArray(bgra * (box[2] * box[3])), *box)
            self.doc.waitForDone()
            wait_for(lambda: run.state != "running", asked, "painted-meanwhile run", timeout=120, interval=50)

        def asked(_):
            progress = run.progress
            info.update(state=run.state, title=progress.title.text(), message=progress.message.text(),
                        buttons=[b.text() for b in progress.buttons.buttons() if b.isVisible()],
                        nothing_inserted_yet=self.names() == names_before)
            (progress.again_button if choice == "again" else progress.keep_button).click()
            wait_for(lambda: run.state not in ("running", "asking"), over, "after the choice", timeout=120, interval=50)

        def over(_):
            self.doc.waitForDone()
            info.update(final_state=run.state, names_after=self.names(), names_before=names_before,
                        read_rgb=colour_of_read_pixels(), undo_text=self.k.action("edit_undo").text(),
                        progress_visible=run.progress.isVisible())
            RESULT.setdefault("painted_meanwhile", {})[choice] = info
            then()

        run.start()
        wait_for(lambda: run.progress.bar.value() >= 1 or run.state != "running", paint, "first step", timeout=90, interval=20)


_DRIVER = boot("NST_GUI_TEST_CONFIG", Driver)
