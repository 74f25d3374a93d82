"""The progress window: step, time left, a live preview, Cancel — and any problem, in words.

Not modal: painters keep working in Krita while a layer is being styled.
"""
from __future__ import annotations

from ..cost import NBSP, format_seconds
from ..errors import TITLE
from ..qt import Qt, QtGui, QtWidgets, pyqtSignal

QImage, QPixmap = QtGui.QImage, QtGui.QPixmap
QDialog, QDialogButtonBox, QHBoxLayout = QtWidgets.QDialog, QtWidgets.QDialogButtonBox, QtWidgets.QHBoxLayout
QLabel, QProgressBar, QPushButton = QtWidgets.QLabel, QtWidgets.QProgressBar, QtWidgets.QPushButton
QVBoxLayout = QtWidgets.QVBoxLayout

PREVIEW_SIZE = 180
#: the bar's resolution: it shows the share of the work done (worker.Progress.done), not of the steps
BAR_RANGE = 1000


def preview_pixmap(rgb) -> QPixmap:
    """H×W×3 uint8 numpy -> a pixmap no bigger than PREVIEW_SIZE."""
    height, width = rgb.shape[:2]
    data = rgb.tobytes()
    image = QImage(data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(PREVIEW_SIZE, PREVIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


class ProgressDialog(QDialog):
    cancel_requested = pyqtSignal()
    retry_smaller = pyqtSignal()
    retry_cpu = pyqtSignal()
    keep_result = pyqtSignal()
    style_again = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("neural_style_progress")
        self.setWindowTitle(TITLE)
        self.setModal(False)
        self.setMinimumWidth(420)

        self.title = QLabel("Starting…")
        self.title.setObjectName("title")
        self.title.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the first step
        self.detail = QLabel("Loading the style-transfer engine…")
        self.detail.setObjectName("detail")
        self.detail.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.preview = QLabel()
        self.preview.setObjectName("preview")
        self.preview.setFixedSize(PREVIEW_SIZE, PREVIEW_SIZE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("QLabel { background: palette(base); border: 1px solid palette(mid); }")

        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.bar)
        text.addWidget(self.detail)
        text.addWidget(self.message)
        text.addStretch(1)
        top = QHBoxLayout()
        top.addLayout(text, 1)
        top.addWidget(self.preview)

        self.buttons = QDialogButtonBox()
        self.smaller_button = QPushButton("Retry at half size")
        self.smaller_button.setObjectName("retry_smaller")
        self.cpu_button = QPushButton("Retry on the CPU")
        self.cpu_button.setObjectName("retry_cpu")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel")
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("close")
        self.keep_button = QPushButton()
        self.keep_button.setObjectName("keep_result")
        self.again_button = QPushButton()
        self.again_button.setObjectName("style_again")
        for button in (self.smaller_button, self.cpu_button, self.again_button, self.keep_button):
            self.buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.smaller_button.clicked.connect(self.retry_smaller)
        self.cpu_button.clicked.connect(self.retry_cpu)
        self.keep_button.clicked.connect(self._keep)
        self.again_button.clicked.connect(self.style_again)
        self.cancel_button.clicked.connect(self._cancel)
        self.close_button.clicked.connect(self.close)
        self._set_buttons(running=True)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.buttons)

    # ------------------------------------------------------------------ state
    def _set_buttons(self, running: bool, oom_device=None, asking: bool = False) -> None:
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.close_button.setVisible(not running and not asking)
        self.smaller_button.setVisible(oom_device is not None)
        self.cpu_button.setVisible(oom_device not in (None, "cpu"))
        self.keep_button.setVisible(asking)
        self.again_button.setVisible(asking)

    def _keep(self) -> None:
        self._set_buttons(running=False)
        self.keep_result.emit()

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.detail.setText("Stopping after the current step…")
        self.cancel_requested.emit()

    def reject(self) -> None:  # Esc / window close while running = Cancel; while asking = Keep
        if self.keep_button.isVisible():
            self._keep()
        if self.cancel_button.isVisible() and self.cancel_button.isEnabled():
            self._cancel()
        elif not self.cancel_button.isVisible():
            super().reject()

    def closeEvent(self, event):  # noqa: N802
        if self.keep_button.isVisible():
            self._keep()
        if self.cancel_button.isVisible():
            if self.cancel_button.isEnabled():
                self._cancel()
            event.ignore()
        else:
            super().closeEvent(event)

    def start(self, text: str) -> None:
        self.title.setText(text)
        self.message.hide()
        self.bar.setRange(0, 0)
        self.detail.setText("Loading the style-transfer engine…")
        self._set_buttons(running=True)

    def engine_ready(self) -> None:
        self.detail.setText("Preparing the style…")

    def set_job(self, index: int, count: int, name: str) -> None:
        prefix = f"Layer {index + 1} of {count}: " if count > 1 else ""
        self.title.setText(f"{prefix}styling “{name}”")

    def set_step(self, info) -> None:
        """``info``: a ``worker.Progress``."""
        total = max(1, int(info.total))
        self.bar.setRange(0, BAR_RANGE)
        self.bar.setValue(round(min(1.0, max(0.0, info.done)) * BAR_RANGE))
        left = format_seconds(info.eta)
        where = f"Frame {info.frame} of{NBSP}{info.frames}, step" if info.frames else "Step"
        self.detail.setText(f"{where} {info.step} of{NBSP}{total} — about{NBSP}{left}{NBSP}left")
        if info.preview is not None:
            self.preview.setPixmap(preview_pixmap(info.preview))

    def show_problem(self, message: str, oom_device=None, title: str = "Nothing was changed") -> None:
        self.title.setText(title)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.detail.setText("")
        self.message.setText(message)
        self.message.setStyleSheet("QLabel { color: #c0392b; }")
        self.message.show()
        self._set_buttons(running=False, oom_device=oom_device)
        self.show()
        self.raise_()

    def ask(self, title: str, message: str, keep: str, again: str) -> None:
        """The run is over but its source changed meanwhile: keep the result, or style again?"""
        self.show_note(title, message)
        self.keep_button.setText(keep)
        self.again_button.setText(again)
        self._set_buttons(running=False, asking=True)
        self.keep_button.setDefault(True)
        self.show()
        self.raise_()

    def show_note(self, title: str, message: str, finished: bool = True) -> None:
        """Over, with something the painter should know (a skipped layer, a cancel). A run
        that did not finish keeps its bar where it stopped: a full bar reads as "finished"."""
        self.title.setText(title)
        if finished:
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
        elif self.bar.maximum() == 0:  # stopped before the first step: no busy animation left running
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
        self.detail.setText("")
        self.message.setStyleSheet("")
        self.message.setText(message)
        self.message.show()
        self._set_buttons(running=False)
