"""Test-only pykrita plugin: styles an animated paint layer in the real Krita GUI (under Xvfb).

Installed only into a temporary $HOME by tests/test_plugin_animation_gui.py (Krita 5.1) and
tests/test_krita_versions.py (5.2, 5.3, 6.0). Configured by $NST_GUI_TEST_CONFIG; writes
its findings to config["out"], then exits.

Sequence: a canvas with an animated layer whose keyframes (at 0, 2 and 4) are the photo
shifted a few pixels each → the dialog: "every keyframe" offered with the count, the cost
line for the clip → Stylize → the new animated layer, its keyframes, pixels and alpha, the
frame-by-frame progress text → ``edit_undo`` (one step) → the scripting API's
``stylize_layers(..., frames="all")`` → its refusal for a layer that is not animated.
"""
import os
import sys
import tempfile

from krita import Krita
from neural_style.qt import QtCore, QtGui, QtWidgets

from nst_driver_harness import CONFIG, RESULT, boot, finish, log, top_widget, wait_for  # copied beside this plugin

QTimer = QtCore.QTimer
TIMES = (0, 2, 4)
SHIFT = 6  # px the photo moves between keyframes


def frames_of(node, times, rect):
    return {str(t): bytes(node.pixelDataAtTime(rect[0], rect[1], rect[2], rect[3], t)) for t in times}


def keys(node, last=12):
    return [t for t in range(0, last) if node.hasKeyframeAtTime(t)]


def moving_photo(path, folder):
    """The photo shifted right by SHIFT px per keyframe, as PNG files (the source's frames)."""
    image = QtGui.QImage(path)
    files = []
    for index in range(len(TIMES)):
        shifted = image.copy(SHIFT * (len(TIMES) - 1 - index), 0, image.width() - SHIFT * (len(TIMES) - 1), image.height())
        name = os.path.join(folder, f"source{index}.png")
        shifted.save(name)
        files.append(name)
    return files, shifted.width(), shifted.height()


class Driver:
    def __init__(self):
        self.k = Krita.instance()

    def start(self):
        wait_for(lambda: self.k.activeWindow() is not None and self.k.activeWindow().qwindow().isVisible(),
                 self.make_animation, "main window", timeout=120)

    def make_animation(self, _):
        folder = tempfile.mkdtemp()
        files, width, height = moving_photo(CONFIG["content"], folder)
        self.doc = self.k.createDocument(width, height, "animated", "RGBA", "U8", "", 72.0)
        self.k.activeWindow().addView(self.doc)
        self.doc.waitForDone()
        self.files, self.size = files, (width, height)
        # as a painter would: the frames imported once the document is shown (importing into a
        # document whose view is still being set up crashed Krita 5.1's timeline)
        wait_for(lambda: self.k.activeDocument() == self.doc, lambda _: QTimer.singleShot(1000, self.import_frames),
                 "document view")

    def import_frames(self):
        files, (width, height) = self.files, self.size
        RESULT["import_ok"] = self.doc.importAnimation(files, TIMES[0], TIMES[1] - TIMES[0])
        self.doc.waitForDone()
        self.doc.rootNode().childNodes()[-1].setName("walk")
        self.source = next(n for n in self.doc.rootNode().childNodes() if n.name() == "walk")  # Krita's own wrapper
        log("animated source made")
        self.doc.setActiveNode(self.source)
        self.rect = (0, 0, width, height)
        self.source_frames = frames_of(self.source, TIMES, self.rect)
        RESULT["source"] = {"keys": keys(self.source), "animated": self.source.animated(), "size": [width, height],
                            "names_before": [n.name() for n in self.doc.rootNode().childNodes()]}
        QTimer.singleShot(500, lambda: self.open_dialog(None))

    def open_dialog(self, _):
        self.k.action("neural_style_transfer").trigger()
        wait_for(lambda: top_widget("neural_style_dialog"), self.fill_dialog, "style dialog", timeout=30)

    def fill_dialog(self, dialog):
        QComboBox, QSpinBox, QRadioButton = QtWidgets.QComboBox, QtWidgets.QSpinBox, QtWidgets.QRadioButton
        dialog.set_style_file(CONFIG["style"])
        preset = dialog.findChild(QComboBox, "preset")
        preset.setCurrentIndex(preset.findData("fast"))
        dialog.findChild(QtWidgets.QToolButton, "advanced_toggle").setChecked(True)
        dialog.findChild(QSpinBox, "steps").setValue(CONFIG.get("steps", 4))
        dialog.findChild(QSpinBox, "size").setValue(CONFIG.get("size", 64))
        frames = dialog.findChild(QRadioButton, "target_frames")
        RESULT["dialog"] = {"frames_text": frames.text(), "frames_enabled": frames.isEnabled(),
                            "frames_shown": not frames.isHidden()}
        if CONFIG.get("refused"):  # a Krita where the choice is not offered (plugin/animation.py)
            dialog.reject()
            self.api_refusals()
            return
        frames.setChecked(True)
        QtWidgets.QApplication.processEvents()
        RESULT["dialog"]["cost"] = dialog.cost.text()
        log("click Stylize")
        self.details = []
        dialog.stylize_button.click()
        wait_for(self.run_over, self.check_result, "the animation run", timeout=CONFIG.get("timeout", 300), interval=100)

    def run_over(self):
        run = sys.modules["neural_style"].EXTENSION.run
        if run is None:
            return False
        text = run.progress.detail.text()
        if text and (not self.details or self.details[-1] != text):
            self.details.append(text)
        return run.state in ("done", "failed", "cancelled") and run

    def check_result(self, run):
        RESULT["run"] = {"state": run.state, "message": run.message, "details": self.details[-40:]}
        children = self.doc.rootNode().childNodes()
        RESULT["names_after"] = [n.name() for n in children]
        styled = children[-1]
        RESULT["styled"] = {"name": styled.name(), "animated": styled.animated(), "keys": keys(styled),
                            "depth": styled.colorDepth()}
        RESULT["styled_frames"] = {t: list(data[:64]) for t, data in frames_of(styled, TIMES, self.rect).items()}
        RESULT["styled_sums"] = self.compare(styled)
        RESULT["source_unchanged"] = frames_of(self.source, TIMES, self.rect) == self.source_frames
        self.styled_name = styled.name()
        self.doc.setActiveNode(styled)  # the timeline shows its keyframes
        RESULT["undo_text"] = self.k.action("edit_undo").text()
        self.k.action("edit_undo").trigger()
        wait_for(lambda: styled.name() not in [n.name() for n in self.doc.rootNode().childNodes()],
                 lambda _: QTimer.singleShot(1000, self.after_undo), "undo", timeout=30)

    def compare(self, node):
        """Per keyframe: how much the result differs from the source, from the previous result, and whether alpha holds."""
        found, previous = {}, None
        for t, data in frames_of(node, TIMES, self.rect).items():
            source = self.source_frames[t]
            colour = sum(abs(a - b) for i, (a, b) in enumerate(zip(data, source)) if i % 4 != 3) / max(1, len(data))
            alpha_same = data[3::4] == source[3::4]
            moved = None if previous is None else sum(abs(a - b) for a, b in zip(data, previous)) / len(data)
            found[t] = {"bytes": len(data), "vs_source": colour, "alpha_same": alpha_same, "vs_previous": moved}
            previous = data
        return found

    def after_undo(self):
        RESULT["after_undo"] = [n.name() for n in self.doc.rootNode().childNodes()]
        RESULT["source_unchanged_after_undo"] = frames_of(self.source, TIMES, self.rect) == self.source_frames
        from neural_style.api import stylize_layers

        self.cancelled_run(stylize_layers)
        log("stylize_layers(frames='all')")
        seen = set()

        def progress(p):
            if p.frame not in seen:
                seen.add(p.frame)
                log(f"api frame {p.frame}")

        nodes = stylize_layers(self.doc, self.source, CONFIG["style"], preset="fast", steps=2, size=64, frames="all",
                               progress=progress)
        log("stylize_layers returned")
        RESULT["api"] = {"names": [n.name() for n in nodes], "keys": keys(nodes[0]),
                         "names_after": [n.name() for n in self.doc.rootNode().childNodes()]}
        self.api_refusals()

    def cancelled_run(self, stylize_layers):
        """Cancel during the first frame: nothing added, no styled frames left on disk."""
        import glob
        import threading

        pattern = os.path.join(tempfile.gettempdir(), "neural-style-frames-*")
        before = set(glob.glob(pattern))
        flag = threading.Event()
        try:
            stylize_layers(self.doc, self.source, CONFIG["style"], preset="fast", steps=2, size=64, frames="all",
                           progress=lambda p: flag.set(), cancel=flag)
            RESULT["api_cancel"] = "not cancelled"
        except Exception as error:  # nst_core.Cancelled
            RESULT["api_cancel"] = type(error).__name__
        RESULT["names_after_cancel"] = [n.name() for n in self.doc.rootNode().childNodes()]
        RESULT["frames_left_on_disk"] = sorted(set(glob.glob(pattern)) - before)

    def api_refusals(self):
        from neural_style.api import stylize_layers

        still = self.doc.createNode("still", "paintlayer")
        self.doc.rootNode().addChildNode(still, None)
        still.setPixelData(bytes([40, 80, 120, 255]) * 64, 0, 0, 8, 8)
        try:
            stylize_layers(self.doc, still, CONFIG["style"], preset="fast", steps=2, size=64, frames="all")
            RESULT["api_still"] = "no refusal"
        except Exception as error:  # the plugin's plain-words PluginError
            RESULT["api_still"] = f"{type(error).__name__}: {error}"
        if CONFIG.get("refused"):
            try:
                stylize_layers(self.doc, self.source, CONFIG["style"], preset="fast", steps=2, size=64, frames="all")
                RESULT["api_refused"] = "no refusal"
            except Exception as error:  # the plugin's plain-words PluginError
                RESULT["api_refused"] = f"{type(error).__name__}: {error}"
            RESULT["names_after_refusal"] = [n.name() for n in self.doc.rootNode().childNodes()]
        finish()


DRIVER = boot("NST_GUI_TEST_CONFIG", Driver)
