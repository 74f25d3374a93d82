"""Test-only pykrita plugin: Neural Style at canvas scale in the real Krita GUI (Xvfb, issue 9).

Installed only into a temporary $HOME by tests/test_plugin_canvas_gui.py; configured by the
JSON file in $NST_GUI_TEST_CONFIG; writes its findings to config["out"], then exits.

Sequence: open the photo at its own size → the dialog with its defaults: the cost line and
"Automatic" before and after the engine thread has measured this machine, the line for
Detail ▸ Working size, a refusal when memory is short → a run finished at the layer's own size and one at the working
size (how sharp each is against the layer) → the engine's thread count inside Krita → JSON.
"""
import os
import sys

from krita import Krita
from neural_style.qt import QtWidgets
QApplication = QtWidgets.QApplication

from nst_driver_harness import CONFIG, RESULT, boot, finish, top_widget, wait_for  # copied beside this plugin (support.install_driver)


def grey(node, doc):
    import numpy as np

    data = node.pixelData(0, 0, doc.width(), doc.height())
    bgra = np.frombuffer(bytes(data), dtype=np.uint8).reshape(doc.height(), doc.width(), 4).astype(np.float32)
    return bgra[..., :3].mean(axis=2) / 255.0


def detail(values):
    """Mean |Laplacian| at 100 %: how much fine detail an image has."""
    import numpy as np

    g = values
    return float(np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]).mean())


class Driver:
    def __init__(self):
        self.k = Krita.instance()

    def plugin(self):
        return sys.modules["neural_style"].EXTENSION

    def start(self):
        wait_for(lambda: self.k.activeWindow() is not None and self.k.activeWindow().qwindow().isVisible(),
                 self.open_document, "main window")

    def open_document(self, _):
        # Krita loads the system's OpenMP runtime itself at some point of a session (before any
        # plugin code in kritarunner); make sure it has by now, before torch, as the fix is for that case
        import ctypes

        RESULT["gomp_before"] = "libgomp" in open("/proc/self/maps").read()
        ctypes.CDLL("libgomp.so.1")
        RESULT["torch_before"] = "torch" in sys.modules
        self.doc = self.k.openDocument(CONFIG["content"])
        self.k.activeWindow().addView(self.doc)
        self.doc.waitForDone()
        self.source = [n for n in self.doc.rootNode().childNodes() if n.type() == "paintlayer"][0]
        self.doc.setActiveNode(self.source)
        RESULT["layer"] = [self.doc.width(), self.doc.height()]
        wait_for(lambda: self.k.activeDocument() == self.doc and self.doc.activeNode() == self.source,
                 self.open_dialog, "document view")

    def open_dialog(self, _):
        self.k.action("neural_style_transfer").trigger()
        wait_for(lambda: top_widget("neural_style_dialog"), self.before_measuring, "dialog", timeout=30)

    def device_text(self, dialog):
        return dialog.device.itemText(dialog.device.findData("auto"))

    def before_measuring(self, dialog):
        RESULT["first"] = {"cost": dialog.cost.text(), "automatic": self.device_text(dialog)}
        dialog.set_style_file(CONFIG["style"])
        wait_for(lambda: dialog.estimate is not None and dialog.estimate.seconds is not None and dialog,
                 self.measured, "the machine measured", timeout=CONFIG["timeout"])

    def measured(self, dialog):
        from neural_style.settings import PluginSettings

        RESULT["measured"] = {"cost": dialog.cost.text(), "automatic": self.device_text(dialog),
                              "seconds": dialog.estimate.seconds, "saved": sorted(PluginSettings.load().calibration),
                              "saved_name": PluginSettings.load().auto_device_name}
        if CONFIG.get("screenshot"):
            dialog.grab().save(CONFIG["screenshot"])
        dialog.detail.setCurrentIndex(dialog.detail.findData("working"))
        QApplication.processEvents()
        RESULT["working"] = {"cost": dialog.cost.text(), "seconds": dialog.estimate.seconds}
        dialog.preset.setCurrentIndex(dialog.preset.findData("fast"))  # the runs below: quick ones
        dialog.fields["size"].setValue(CONFIG["size"])
        dialog.fields["steps"].setValue(CONFIG["steps"])
        dialog.detail.setCurrentIndex(dialog.detail.findData("layer"))
        os.environ["NST_MEMORY_LIMIT_MB"] = "50"
        dialog.fields["seed"].setValue(1)  # any change re-estimates
        QApplication.processEvents()
        RESULT["short_memory"] = {"cost": dialog.cost.text(), "stylize_enabled": dialog.stylize_button.isEnabled()}
        del os.environ["NST_MEMORY_LIMIT_MB"]
        dialog.fields["seed"].setValue(0)
        QApplication.processEvents()
        RESULT["memory_back"] = {"stylize_enabled": dialog.stylize_button.isEnabled()}
        self.runs = {}
        self.stylize(dialog, "layer")

    def stylize(self, dialog, detail_choice):
        from neural_style.qt import QtWidgets
        QPushButton = QtWidgets.QPushButton

        dialog.detail.setCurrentIndex(dialog.detail.findData(detail_choice))
        dialog.findChild(QPushButton, "stylize").click()
        self.etas = []

        def running():
            run = self.plugin().run
            if run is not None and run.state == "running":
                text = run.progress.detail.text()
                if text and (not self.etas or self.etas[-1] != text):
                    self.etas.append(text)
            return run is not None and run.state not in ("idle", "running") and run

        wait_for(running, lambda run: self.run_done(run, detail_choice), f"run ({detail_choice})",
                 timeout=CONFIG["timeout"], interval=100)

    def run_done(self, run, detail_choice):
        self.doc.waitForDone()
        result = next(n for n in self.doc.rootNode().childNodes() if n.name().startswith("Styled"))
        self.runs[detail_choice] = {"state": run.state, "message": run.message,
                                    "detail_ratio": detail(grey(result, self.doc)) / detail(grey(self.source, self.doc)),
                                    "progress_texts": self.etas[:3] + self.etas[-2:]}
        result.remove()
        self.doc.waitForDone()
        self.plugin().run = None
        if detail_choice == "layer":
            self.doc.setActiveNode(self.source)
            self.k.action("neural_style_transfer").trigger()
            wait_for(lambda: top_widget("neural_style_dialog"), lambda d: self.stylize(d, "working"),
                     "dialog again", timeout=30)
            return
        RESULT["runs"] = self.runs
        import torch

        from neural_style import threads

        RESULT["threads"] = {"spins": threads.openmp_spins(), "torch": torch.get_num_threads(),
                             "cores": os.cpu_count(),
                             "gomp": sorted({line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line})}
        finish()


_DRIVER = boot("NST_GUI_TEST_CONFIG", Driver)
