"""The settings dialog: style image, preset, advanced options and which layers to style.

The dialog only collects choices; the extension checks them (and reads the layers) when
*Stylize* is pressed, and shows any problem in the dialog with :meth:`show_problem`.
"""
from __future__ import annotations

import copy
import os
import sys

from ..errors import TITLE
from ..qt import Qt, QtCore, QtGui, QtWidgets, pyqtSignal
from ..settings import ADVANCED, PRESET_HINTS, SETTINGS, PluginSettings, Setting, bundled_paintings, typed_path

QObject = QtCore.QObject
QGuiApplication, QImage, QPixmap = QtGui.QGuiApplication, QtGui.QImage, QtGui.QPixmap
QButtonGroup, QComboBox, QDialog = QtWidgets.QButtonGroup, QtWidgets.QComboBox, QtWidgets.QDialog
QDialogButtonBox, QDoubleSpinBox, QFileDialog = QtWidgets.QDialogButtonBox, QtWidgets.QDoubleSpinBox, QtWidgets.QFileDialog
QFormLayout, QFrame, QGridLayout = QtWidgets.QFormLayout, QtWidgets.QFrame, QtWidgets.QGridLayout
QGroupBox, QHBoxLayout, QLabel, QPushButton = QtWidgets.QGroupBox, QtWidgets.QHBoxLayout, QtWidgets.QLabel, QtWidgets.QPushButton
QRadioButton, QScrollArea, QSizePolicy = QtWidgets.QRadioButton, QtWidgets.QScrollArea, QtWidgets.QSizePolicy
QSpinBox, QToolButton, QVBoxLayout, QWidget = QtWidgets.QSpinBox, QtWidgets.QToolButton, QtWidgets.QVBoxLayout, QtWidgets.QWidget


THUMB = 96
#: what the selection does, per *Regions* choice (plugin/regions.MODES): the note under "Apply to"
SELECTION_NOTES = {
    "none": "There is a selection: only the selected area is styled, the rest of the new layer stays transparent.",
    "selection_two": "There is a selection: the whole layer is styled, the selection with this painting, "
                     "the rest with the second one.",
    "selection_keep": "There is a selection: the whole layer is styled with this painting, "
                      "then cut to the selection.",
    "masks": "The selection is not used: the whole layer is styled, its selection masks choose the paintings.",
    "group": "The selection is not used: the whole layer is styled, the group's layers choose the paintings.",
}
#: what the thumbnail box says when it has no picture to show
NO_IMAGE, UNREADABLE, TOO_LARGE = "no image", "not readable", "too large"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"


def field_widget(name: str, setting: Setting) -> QWidget:
    """The widget for one declared setting (plugin/settings.py): a drop-down list or a spin box."""
    if setting.choices:
        widget = QComboBox()
        for key, label in setting.choices:
            widget.addItem(label, key)
    else:
        widget = QDoubleSpinBox() if setting.decimals else QSpinBox()
        if setting.decimals:
            widget.setDecimals(setting.decimals)
        low, high = setting.range
        widget.setRange(low, high)
        widget.setSingleStep(setting.step)
        widget.setSuffix(setting.suffix)
        if setting.zero:
            widget.setSpecialValueText(setting.zero)
    widget.setObjectName(name)
    widget.setToolTip(setting.help)
    return widget


def set_field(widget: QWidget, value) -> None:
    if isinstance(widget, QComboBox):
        index = widget.findData(value)
        if index >= 0:
            widget.setCurrentIndex(index)
    else:
        widget.setValue(value)


def field_value(widget: QWidget):
    return widget.currentData() if isinstance(widget, QComboBox) else widget.value()


def load_thumbnail(path: str, size: int = THUMB):
    """(RGBA bytes, width, height) of a small copy of an image file, a problem message, and
    the word the thumbnail box shows instead when there is no picture.

    Decoded by ``nst_core.limits.thumbnail``: the header is checked against the pixel
    budget first, JPEGs are decoded at reduced size. Slow for big files, so it runs on
    :class:`ThumbnailLoader`'s thread, never on the GUI thread. The box's word agrees with
    the message (issue 21, finding 3): "too large" only for a file over the pixel budget,
    "not readable" for one that is not an image or is damaged.
    """
    try:
        from nst_core import NSTError, limits
    except ImportError:
        return None, "", NO_IMAGE
    try:
        width, height = limits.image_file_size(path, "style image")
    except NSTError as error:
        return None, str(error), UNREADABLE
    except Exception:  # a thumbnail is a nicety, never a failure
        return None, "", NO_IMAGE
    try:
        limits.check_pixels(width, height, "style image", path)
    except NSTError as error:
        return None, str(error), TOO_LARGE
    try:
        image = limits.thumbnail(path, size)
    except NSTError as error:
        return None, str(error), UNREADABLE
    except Exception:  # a thumbnail is a nicety, never a failure
        return None, "", NO_IMAGE
    return (image.tobytes("raw", "RGBA"), image.width, image.height), "", ""


_THUMBNAIL_THREAD = None


class ThumbnailLoader(QObject):
    """Loads thumbnails on one long-lived background thread; ``ready`` arrives on the GUI thread."""

    #: path, (RGBA bytes, width, height) or None, problem message ("" if none), the box's word
    ready = pyqtSignal(str, object, str, str)

    def request(self, path: str) -> None:
        global _THUMBNAIL_THREAD
        from ..worker import EngineThread

        if _THUMBNAIL_THREAD is None:
            _THUMBNAIL_THREAD = EngineThread()
        _THUMBNAIL_THREAD.submit(lambda: self._load(path))

    def _load(self, path: str) -> None:  # thumbnail thread
        image, problem, word = load_thumbnail(path)
        try:
            self.ready.emit(path, image, problem, word)
        except RuntimeError:  # the dialog was closed meanwhile
            pass


class EnterTakesPath(QObject):
    """Enter in the file box chooses the typed path instead of pressing *Stylize* (the default
    button): the painter sees the thumbnail and cost of the new painting before running."""

    def __init__(self, take, parent=None):
        super().__init__(parent)
        self.take = take

    def eventFilter(self, watched, event):  # noqa: N802 — Qt's name
        if event.type() == QtCore.QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.take()
            return True
        return False


class StyleDialog(QDialog):
    """``layer_choices``: list of (label, node) for "style from a layer"; ``targets``: the
    layers about to be styled (never pre-selected as the style)."""

    stylize_requested = pyqtSignal()
    #: a worker.EngineInfo: where "Automatic" runs and how fast (for the extension to remember)
    engine_known = pyqtSignal(object)

    def __init__(self, settings: PluginSettings, layer_choices=(), active_name: str = "",
                 selected_count: int = 1, has_selection: bool = False, problem: str = "", parent=None,
                 group_choices=(), targets=(), shapes=None, whole_shapes=None, refusals=None, keyframes=0):
        super().__init__(parent)
        self.setObjectName("neural_style_dialog")
        self.setWindowTitle(TITLE)
        self.settings = copy.deepcopy(settings)
        self.layer_nodes = [node for _, node in layer_choices]
        self._target_ids = {node.uniqueId() for node in targets if node is not None}
        self.thumbnails = ThumbnailLoader(self)
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self._style_problem = ""
        self._blocking = False
        #: target ("active" / "selected") -> the cost.Shape of every layer it would style
        self.shapes = dict(shapes or {})
        #: the same for a *Regions* run, which styles the whole layer (the selection picks a painting)
        self.whole_shapes = dict(whole_shapes or self.shapes)
        #: target -> what Stylize would refuse about its layers ("" if nothing), shown before the click
        self.refusals = dict(refusals or {})
        self.has_selection = has_selection
        #: the active layer's keyframes (plugin/animation.py); 0 if not animated, None where not offered
        self.keyframes = keyframes or 0
        self._probe = None
        self._probing = set()
        self.estimate = None  #: the last cost.Estimate shown

        # ---------------------------------------------------------------- style
        style_box = QGroupBox("Style")
        self.from_file = QRadioButton("Image file")
        self.from_file.setObjectName("style_from_file")
        self.from_layer = QRadioButton("Layer of this document")
        self.from_layer.setObjectName("style_from_layer")
        self.source_group = QButtonGroup(self)
        self.source_group.addButton(self.from_file)
        self.source_group.addButton(self.from_layer)
        self.file_combo = QComboBox()
        self.file_combo.setObjectName("style_file")
        self.file_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.file_combo.setMinimumContentsLength(28)
        self.file_combo.setToolTip("The style image: type or paste its path, or Browse…; the last few you used are remembered.")
        self.file_combo.setEditable(True)  # a path can be typed or pasted (issue 21, finding 7)
        self.file_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.file_combo.lineEdit().setPlaceholderText("Type or paste a path, or Browse…")
        self.browse = QPushButton("Browse…")
        self.browse.setObjectName("browse")
        self.layer_combo = QComboBox()
        self.layer_combo.setObjectName("style_layer")
        for label, _ in layer_choices:
            self.layer_combo.addItem(label)
        others = [i for i, node in enumerate(self.layer_nodes) if node.uniqueId() not in self._target_ids]
        if others:  # the first layer that is not being styled
            self.layer_combo.setCurrentIndex(others[0])
        self.thumb = QLabel()
        self.thumb.setObjectName("thumbnail")
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet("QLabel { background: palette(base); border: 1px solid palette(mid); }")
        grid = QGridLayout(style_box)
        grid.addWidget(self.from_file, 0, 0)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_combo, 1)
        file_row.addWidget(self.browse)
        grid.addLayout(file_row, 0, 1)
        grid.addWidget(self.from_layer, 1, 0)
        grid.addWidget(self.layer_combo, 1, 1)
        grid.addWidget(self.thumb, 0, 2, 2, 1)
        grid.setColumnStretch(1, 1)

        # ---------------------------------------------------------------- preset + advanced
        quality_box = QGroupBox("Quality")
        self.preset = QComboBox()
        self.preset.setObjectName("preset")
        for key, label in SETTINGS["preset"].choices:
            self.preset.addItem(label, key)
        self.preset.setToolTip(SETTINGS["preset"].help)
        self.preset_hint = QLabel()
        self.preset_hint.setWordWrap(True)
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setObjectName("advanced_toggle")
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced = QWidget()
        self.advanced.setObjectName("advanced")
        form = QFormLayout(self.advanced)
        form.setContentsMargins(0, 0, 0, 0)
        self.fields = {name: field_widget(name, SETTINGS[name]) for name in ADVANCED}
        for name in ADVANCED:
            form.addRow(SETTINGS[name].label, self.fields[name])
        self.strength, self.steps, self.size = self.fields["style_strength"], self.fields["steps"], self.fields["size"]
        self.scale, self.colours, self.seed = self.fields["style_scale"], self.fields["preserve_colors"], self.fields["seed"]
        self.device = self.fields["device"]
        self.detail = field_widget("detail", SETTINGS["detail"])
        self.cost = QLabel()
        self.cost.setObjectName("cost")
        self.cost.setWordWrap(True)
        self.cost.setToolTip("The size the result is finished at and how long it will take on this computer "
                             "(measured here once, then remembered).")
        quality_layout = QVBoxLayout(quality_box)
        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel(SETTINGS["preset"].label))
        preset_row.addWidget(self.preset)
        preset_row.addWidget(self.preset_hint, 1)
        quality_layout.addLayout(preset_row)
        detail_row = QHBoxLayout()
        detail_row.addWidget(QLabel(SETTINGS["detail"].label))
        detail_row.addWidget(self.detail, 1)
        quality_layout.addLayout(detail_row)
        quality_layout.addWidget(self.cost)
        quality_layout.addWidget(self.advanced_toggle)
        quality_layout.addWidget(self.advanced)

        # ---------------------------------------------------------------- target
        target_box = QGroupBox("Apply to")
        self.target_active = QRadioButton(f"The active layer ({active_name})" if active_name else "The active layer")
        self.target_active.setObjectName("target_active")
        self.target_selected = QRadioButton(f"Every selected layer ({selected_count})")
        self.target_selected.setObjectName("target_selected")
        self.target_group = QButtonGroup(self)
        self.target_group.addButton(self.target_active)
        self.target_group.addButton(self.target_selected)
        self.target_frames = QRadioButton(f"Every keyframe of the active layer ({keyframes}), as one animation"
                                          if keyframes else "Every keyframe of the active layer (it is not animated)")
        self.target_frames.setVisible(keyframes is not None)
        self.target_frames.setObjectName("target_frames")
        self.target_frames.setToolTip("One new animated layer with a keyframe at each of the source's, "
                                      "styled so the strokes stay put from frame to frame.")
        self.target_group.addButton(self.target_frames)
        target_layout = QVBoxLayout(target_box)
        target_layout.addWidget(self.target_active)
        target_layout.addWidget(self.target_selected)
        target_layout.addWidget(self.target_frames)
        note = QLabel("Each result is a new layer above its source; the source is not changed.")
        note.setWordWrap(True)
        target_layout.addWidget(note)
        self.selection_note = QLabel()
        self.selection_note.setObjectName("selection_note")
        self.selection_note.setWordWrap(True)
        self.selection_note.setVisible(has_selection)
        target_layout.addWidget(self.selection_note)

        # ---------------------------------------------------------------- regions (plugin/regions.py)
        from ..regions import MODES

        regions_box = QGroupBox("Regions")
        self.group_nodes = [node for _, node in group_choices]
        self.regions_mode = QComboBox()
        self.regions_mode.setObjectName("regions_mode")
        for key, label in MODES:
            self.regions_mode.addItem(label, key)
        self.regions_mode.setToolTip("Different paintings in different parts of the layer. Selection masks and "
                                     "group layers are named after their painting (e.g. 'starry_night').")
        self.second_file = QComboBox()
        self.second_file.setObjectName("second_style_file")
        self.second_file.setMinimumContentsLength(28)
        # no painting until one is chosen: pre-filled with the first painting it styled nothing differently
        self.second_file.addItem("Choose the second painting…", "")
        for path in settings.recent_styles:
            self.second_file.addItem(os.path.basename(path) or path, path)
        if settings.second_style:
            self.set_second_style_file(settings.second_style)
        index = self.regions_mode.findData(settings.regions_mode)
        if index >= 0:
            self.regions_mode.setCurrentIndex(index)
        self.second_browse = QPushButton("Browse…")
        self.second_browse.setObjectName("second_browse")
        self.regions_group = QComboBox()
        self.regions_group.setObjectName("regions_group")
        for label, _ in group_choices:
            self.regions_group.addItem(label)
        regions_form = QFormLayout(regions_box)
        regions_form.addRow("Regions:", self.regions_mode)
        second_row = QHBoxLayout()
        second_row.addWidget(self.second_file, 1)
        second_row.addWidget(self.second_browse)
        regions_form.addRow("Second painting:", second_row)
        regions_form.addRow("Group:", self.regions_group)
        self.regions_mode.currentIndexChanged.connect(self._update_regions)
        self.second_browse.clicked.connect(self._browse_second)
        self._update_regions()

        # ---------------------------------------------------------------- problem + buttons
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("QLabel { color: #c0392b; }")
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.problem.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.stylize_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.stylize_button.setText("Stylize")
        self.stylize_button.setObjectName("stylize")
        self.buttons.accepted.connect(self._on_stylize)
        self.buttons.rejected.connect(self.reject)

        # The choices scroll when the screen is too short for them (Advanced open on a
        # 1000-px screen); the problem line and the buttons always stay in view.
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(style_box)
        body_layout.addWidget(quality_box)
        body_layout.addWidget(target_box)
        body_layout.addWidget(regions_box)
        body_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("choices")
        self.scroll.setWidget(body)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

        # ---------------------------------------------------------------- behaviour
        self.browse.clicked.connect(self._browse)
        self.file_combo.lineEdit().editingFinished.connect(self._typed)
        self._enter_filter = EnterTakesPath(self._typed, self)
        self.file_combo.lineEdit().installEventFilter(self._enter_filter)
        self.file_combo.currentIndexChanged.connect(self._update_style)
        self.layer_combo.currentIndexChanged.connect(self._update_style)
        self.from_file.toggled.connect(self._update_style)
        self.preset.currentIndexChanged.connect(self._update_preset_hint)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        self._load(self.settings, selected_count)
        self._name_automatic()
        for widget in [self.preset, self.detail, *self.fields.values()]:
            signal = widget.currentIndexChanged if isinstance(widget, QComboBox) else widget.valueChanged
            signal.connect(self._update_cost)
        for source in (self.file_combo, self.layer_combo):
            source.currentIndexChanged.connect(self._update_cost)
        self.from_file.toggled.connect(self._update_cost)
        self.target_active.toggled.connect(self._update_cost)
        self.target_frames.toggled.connect(self._update_cost)
        self.regions_mode.currentIndexChanged.connect(self._update_cost)
        self.second_file.currentIndexChanged.connect(self._update_cost)
        if problem:
            self.show_problem(problem, blocking=True)
        else:
            self._update_cost()

    # ------------------------------------------------------------------ settings <-> widgets
    def _load(self, s: PluginSettings, selected_count: int) -> None:
        for path in s.recent_styles or reversed(bundled_paintings()):  # first use: the examples
            self._add_file(path)
        if s.style_path:
            self._add_file(s.style_path)
        if not self.layer_nodes:
            self.from_layer.setEnabled(False)
            self.layer_combo.setEnabled(False)
        (self.from_layer if s.style_source == "layer" and self.layer_nodes else self.from_file).setChecked(True)
        self._select(self.preset, s.preset)
        set_field(self.detail, s.detail)
        for name, widget in self.fields.items():
            set_field(widget, getattr(s, name))
        self.target_selected.setEnabled(selected_count >= 2)
        self.target_frames.setEnabled(self.keyframes >= 2)
        if s.target == "frames" and self.keyframes >= 2:
            self.target_frames.setChecked(True)
        else:
            (self.target_selected if s.target == "selected" and selected_count >= 2 else self.target_active).setChecked(True)
        self.advanced_toggle.setChecked(s.advanced_open)
        self._show_advanced(s.advanced_open)
        self._update_preset_hint()
        self._update_style()

    def values(self) -> PluginSettings:
        """The choices as settings (the style path is remembered in the recent list)."""
        s = copy.deepcopy(self.settings)
        s.style_source = "layer" if self.from_layer.isChecked() else "file"
        path = self.style_path()
        if path and not self._style_problem:  # a file that is not an image is not kept among the recent ones
            s.remember_style(path)
        s.preset = self.preset.currentData()
        s.detail = self.detail.currentData()
        for name, widget in self.fields.items():
            setattr(s, name, field_value(widget))
        s.target = "selected" if self.target_selected.isChecked() else "frames" if self.target_frames.isChecked() else "active"
        s.advanced_open = self.advanced_toggle.isChecked()
        s.regions_mode = self.regions_mode.currentData() or "none"
        s.second_style = self.second_file.currentData() or ""
        s.sanitise()
        return s

    def style_path(self) -> str:
        return self.file_combo.currentData() or ""

    def style_node(self):
        index = self.layer_combo.currentIndex()
        return self.layer_nodes[index] if 0 <= index < len(self.layer_nodes) else None

    def style_choice(self):
        """The style as ``api.stylize_layers`` takes it: a path or a node (or None)."""
        if self.from_layer.isChecked():
            return self.style_node()
        return self.style_path() or None

    def regions_choice(self):
        """(mode key from plugin.regions.MODES, second painting path or "", group node or None)."""
        index = self.regions_group.currentIndex()
        group = self.group_nodes[index] if 0 <= index < len(self.group_nodes) else None
        return self.regions_mode.currentData(), self.second_file.currentData() or "", group

    def set_second_style_file(self, path: str) -> None:
        index = self.second_file.findData(path)
        if index < 0:
            self.second_file.insertItem(1, os.path.basename(path) or path, path)
            index = 1
        self.second_file.setCurrentIndex(index)

    def _browse_second(self) -> None:
        start = os.path.dirname(self.style_path()) if self.style_path() else os.path.expanduser("~")
        path, _ = QFileDialog.getOpenFileName(self, "Choose the second painting", start, IMAGE_FILTER)
        if path:
            self.set_second_style_file(path)

    def _update_regions(self, *_) -> None:
        mode = self.regions_mode.currentData()
        self.selection_note.setText(SELECTION_NOTES.get(mode, SELECTION_NOTES["none"]))
        self.second_file.setEnabled(mode == "selection_two")
        self.second_browse.setEnabled(mode == "selection_two")
        self.regions_group.setEnabled(mode == "group" and bool(self.group_nodes))

    # ------------------------------------------------------------------ helpers for scripts/tests
    def set_style_file(self, path: str) -> None:
        self.from_file.setChecked(True)
        self._add_file(path)

    def show_problem(self, message: str, blocking: bool = False) -> None:
        """Show ``message`` in red (or hide it when empty); a blocking one also disables Stylize
        and stays, any other is cleared as soon as the style choice changes."""
        self._blocking = self._blocking or (blocking and bool(message))
        self.problem.setText(message)
        self.problem.setVisible(bool(message))
        if blocking:
            self.stylize_button.setEnabled(False)

    # ------------------------------------------------------------------ cost before the click (plugin/cost.py)
    def run_device(self) -> str:
        """The device the run will use, as far as is known: "cpu", "cuda", … ("" while unknown)."""
        choice = self.device.currentData()
        return self.settings.auto_device if choice == "auto" else choice

    def _name_automatic(self) -> None:
        """ "Automatic (CPU)" once it is known what Automatic runs on here; the declared label before."""
        declared = dict(SETTINGS["device"].choices)["auto"]
        name = self.settings.auto_device_name
        index = self.device.findData("auto")
        if index >= 0:
            self.device.setItemText(index, f"{declared.split(' (')[0]} ({name})" if name else declared)

    def set_engine(self, info) -> None:
        """What the engine thread found (a worker.EngineInfo): name "Automatic", keep the speed."""
        self._probing.clear()
        if info.problem:
            self._probing.add("unavailable")  # the engine cannot load: no more probes (Stylize says why)
            return
        self.settings.auto_device, self.settings.auto_device_name = info.device, info.name
        if info.rate is not None:
            self.settings.remember_rate(info.rate)
        self._name_automatic()
        self._update_cost()

    def _request_probe(self, choice: str) -> None:
        if choice in self._probing or "unavailable" in self._probing:
            return
        from ..worker import EngineProbe

        if self._probe is None:
            self._probe = EngineProbe(self)
            self._probe.ready.connect(self.set_engine)
            self._probe.ready.connect(self.engine_known)
        self._probing.add(choice)
        self._probe.request(choice, tuple(self.settings.calibration))

    def _style_hw(self):
        """(height, width) of the chosen painting, read from its header or its layer's bounds."""
        from .. import jobs

        if self.from_layer.isChecked():
            node = self.style_node()
            if node is None:
                return None
            bounds = node.bounds()
            return (bounds.height(), bounds.width()) if bounds.width() > 0 else None
        path = self.style_path()
        return jobs.style_size(jobs.StyleSource(path, "")) if path else None

    def _refusal(self, target: str, mode: str) -> str:
        """What Stylize would refuse, known before the click (issue 21, finding 4)."""
        from .. import errors

        if self.refusals.get(target):
            return self.refusals[target]
        if target == "frames" and mode not in (None, "none"):
            return "Regions style one picture: choose One painting everywhere to style every keyframe."
        if mode in ("selection_two", "selection_keep") and not self.has_selection:
            return str(errors.regions_need_selection())
        if mode == "selection_two" and not self.second_file.currentData():
            return str(errors.no_second_painting())
        return ""

    def _update_cost(self, *_) -> None:
        from .. import cost

        if self._blocking:
            return
        values = self.values()
        mode = self.regions_mode.currentData()
        refusal = self._refusal(values.target, mode)
        if refusal:  # where the memory refusal is shown, with Stylize disabled
            self.estimate = None
            self.cost.setText(refusal)
            self.cost.setStyleSheet("QLabel { color: #c0392b; }")
            self.stylize_button.setEnabled(False)
            return
        # a Regions run styles the whole layer: its cost is the whole layer's (finding 1)
        areas = self.shapes if mode in (None, "none") else self.whole_shapes
        shapes = areas.get(values.target) or areas.get("active") or []
        device = self.run_device()
        rate = values.rate(device) if device else None
        if rate is None:
            self._request_probe(values.device)
        if device and device == self.settings.auto_device:
            label = f"the {self.settings.auto_device_name or device.upper()}"
        else:
            label = f"the {device.upper()}" if device else "this computer"
        self.estimate = cost.estimate(values.preset, values.engine_options(), shapes, self._style_hw(),
                                      device or "cpu", label, rate, engine_loaded="nst_core.engine" in sys.modules,
                                      frames=self.keyframes if values.target == "frames" else 1)
        problem = self.estimate.problem
        self.cost.setText(problem or self.estimate.text)
        colour = "#c0392b" if problem else ("#b9770e" if self.estimate.long else "")
        self.cost.setStyleSheet(f"QLabel {{ color: {colour}; }}" if colour else "")
        self.stylize_button.setEnabled(problem is None)

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _select(combo: QComboBox, key) -> None:
        index = combo.findData(key)
        if index >= 0:
            combo.setCurrentIndex(index)

    def _add_file(self, path: str) -> None:
        index = self.file_combo.findData(path)
        if index < 0:
            self.file_combo.insertItem(0, os.path.basename(path) or path, path)
            self.file_combo.setItemData(0, path, Qt.ItemDataRole.ToolTipRole)
            index = 0
        self.file_combo.setCurrentIndex(index)

    def _typed(self) -> None:
        """A path typed or pasted into the file box (Enter, or leaving the box) is taken as if
        browsed to: thumbnail, refusal in words and cost line follow."""
        index = self.file_combo.currentIndex()
        text = self.file_combo.lineEdit().text()
        if index >= 0 and text == self.file_combo.itemText(index):
            return  # the chosen file's own name, untouched
        path = typed_path(text)
        if path:
            self.set_style_file(path)
        if self.file_combo.currentIndex() >= 0:  # the chosen file's name, as for a browsed one
            self.file_combo.lineEdit().setText(self.file_combo.itemText(self.file_combo.currentIndex()))

    def _browse(self) -> None:
        start = os.path.dirname(self.style_path()) if self.style_path() else os.path.expanduser("~")
        path, _ = QFileDialog.getOpenFileName(self, "Choose a style image", start, IMAGE_FILTER)
        if path:
            self.set_style_file(path)

    def _update_style(self, *_) -> None:
        use_file = self.from_file.isChecked()
        self.file_combo.setEnabled(use_file)
        self.browse.setEnabled(use_file)
        self.layer_combo.setEnabled(not use_file and bool(self.layer_nodes))
        pixmap = None
        self._style_problem = ""
        if not self._blocking:  # a new choice: the last refusal no longer applies
            self.show_problem("")
        if use_file and self.style_path():
            self.thumb.clear()
            self.thumb.setText("…")
            self.thumbnails.request(self.style_path())  # decoded off the GUI thread
            return
        elif not use_file and self.style_node() is not None:
            node = self.style_node()
            try:
                image = node.thumbnail(THUMB, THUMB)
                pixmap = QPixmap.fromImage(image) if not image.isNull() else None
            except Exception:  # a thumbnail is a nicety, never a failure
                pixmap = None
        if pixmap is None:
            self.thumb.clear()
            self.thumb.setText(NO_IMAGE if use_file else "")
        else:
            self.thumb.setPixmap(pixmap)

    def _thumbnail_ready(self, path: str, image, problem: str, word: str) -> None:
        if not self.from_file.isChecked() or path != self.style_path():
            return  # a newer choice is on its way
        if image is None:
            self.thumb.clear()
            self.thumb.setText(word)
            self._set_style_problem(problem)
            return
        data, width, height = image
        qimage = QImage(data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
        self.thumb.setPixmap(QPixmap.fromImage(qimage))

    def _set_style_problem(self, message: str) -> None:
        """Show (or clear) a problem with the chosen style file; Stylize refuses it again anyway."""
        if message:
            self._style_problem = message
            self.show_problem(message)
        elif self._style_problem:
            if self.problem.text() == self._style_problem:
                self.show_problem("")
            self._style_problem = ""

    def _update_preset_hint(self, *_) -> None:
        hint = PRESET_HINTS.get(self.preset.currentData(), "")
        self.preset_hint.setText(hint[:1].upper() + hint[1:] + "." if hint else "")

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.fit_screen()

    def fit_screen(self) -> None:
        """As tall as the choices need, but never taller than the screen (they scroll then)."""
        body = self.scroll.widget()
        body.adjustSize()
        chrome = self.sizeHint().height() - self.scroll.sizeHint().height()
        wanted = body.sizeHint().height() + chrome + 2
        screen = (self.windowHandle().screen() if self.windowHandle() is not None else None) or QGuiApplication.primaryScreen()
        limit = screen.availableGeometry().height() - 80 if screen is not None else wanted  # room for the title bar
        self.scroll.setMinimumWidth(body.sizeHint().width() + self.scroll.verticalScrollBar().sizeHint().width())
        self.resize(max(self.width(), self.sizeHint().width()), max(200, min(wanted, limit)))

    def _on_stylize(self) -> None:
        self.problem.hide()
        self.stylize_requested.emit()
