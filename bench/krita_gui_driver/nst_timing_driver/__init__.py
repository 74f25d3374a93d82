"""Benchmark-only pykrita plugin for ``python -m bench.krita_gui``: the same run timed in the
real Krita GUI (Xvfb) through the scripting API and through the dialog's *Stylize*.

Configured by the JSON file in $NST_GUI_TEST_CONFIG (photo, painting, preset, options, order,
out); writes {"api": s, "dialog": s, ...} to config["out"], then exits. The engine is loaded
and the dialog's one-time machine measurement is over before either clock starts, as in a
painter's session after the first run; each clock runs from the call (the click) to the new
layer in the document.
"""
import sys
import time

from krita import Krita
from neural_style.qt import QtWidgets

from nst_driver_harness import CONFIG, RESULT, boot, finish, log, top_widget, wait_for  # copied beside this plugin

QPushButton = QtWidgets.QPushButton


class Driver:
    def __init__(self):
        self.k = Krita.instance()

    def plugin(self):
        return sys.modules["neural_style"].EXTENSION

    def start(self):
        wait_for(lambda: self.k.activeWindow() is not None and self.k.activeWindow().qwindow().isVisible(),
                 self.open_document, "main window")

    def open_document(self, _):
        self.doc = self.k.openDocument(CONFIG["content"])
        self.k.activeWindow().addView(self.doc)
        self.doc.waitForDone()
        self.source = [n for n in self.doc.rootNode().childNodes() if n.type() == "paintlayer"][0]
        self.doc.setActiveNode(self.source)
        wait_for(lambda: self.k.activeDocument() == self.doc and self.doc.activeNode() == self.source,
                 self.warm, "document view")

    def warm(self, _):
        from neural_style import engine_bridge, qt, threads

        engine_bridge.load()  # torch imported and threads tuned, as after a painter's first run
        import torch

        RESULT.update(binding=qt.BINDING, krita=self.k.version(), threads=torch.get_num_threads(),
                      spins=threads.openmp_spins())
        self.todo = list(CONFIG["order"])
        self.next()

    def next(self):
        if not self.todo:
            finish()
            return
        kind = self.todo.pop(0)
        getattr(self, kind)()

    def clean(self):
        for node in self.doc.rootNode().childNodes():
            if node.name().startswith("Styled"):
                node.remove()
        self.doc.waitForDone()
        self.doc.setActiveNode(self.source)

    def api(self):
        from neural_style.api import stylize_layers

        started = time.perf_counter()
        stylize_layers(self.doc, [self.source], CONFIG["style"], preset=CONFIG["preset"], **CONFIG["options"])
        RESULT["api"] = time.perf_counter() - started
        log(f"api {RESULT['api']:.1f} s")
        self.clean()
        self.next()

    def dialog(self):
        self.k.action("neural_style_transfer").trigger()
        wait_for(lambda: top_widget("neural_style_dialog"), self.fill, "dialog", timeout=30)

    def fill(self, dialog):
        options = CONFIG["options"]
        dialog.set_style_file(CONFIG["style"])
        dialog.preset.setCurrentIndex(dialog.preset.findData(CONFIG["preset"]))
        dialog.detail.setCurrentIndex(dialog.detail.findData(options["detail"]))
        dialog.fields["steps"].setValue(options["steps"])
        dialog.fields["size"].setValue(options["size"])
        dialog.fields["seed"].setValue(options["seed"])
        dialog.device.setCurrentIndex(dialog.device.findData(options["device"]))
        # the one-time measurement of this machine (engine thread) must be over before the clock starts
        wait_for(lambda: dialog.estimate is not None and dialog.estimate.seconds is not None and not dialog._probing
                 and dialog, self.click, "machine measured", timeout=300)

    def click(self, dialog):
        RESULT["dialog_options"] = dialog.values().engine_options()
        RESULT["dialog_preset"] = dialog.values().preset
        started = time.perf_counter()
        dialog.findChild(QPushButton, "stylize").click()

        def done():
            run = self.plugin().run
            return run is not None and run.state not in ("idle", "running") and run

        def finished(run):
            self.doc.waitForDone()
            RESULT["dialog"] = time.perf_counter() - started
            RESULT["dialog_state"] = run.state
            log(f"dialog {RESULT['dialog']:.1f} s ({run.state})")
            run.progress.hide()
            self.plugin().run = None
            self.clean()
            self.next()

        wait_for(done, finished, "dialog run", timeout=600, interval=20)


_DRIVER = boot("NST_GUI_TEST_CONFIG", Driver)
