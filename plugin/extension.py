"""The Krita Extension: the *Tools ▸ Scripts ▸ Neural Style Transfer…* action and its dialog."""
from __future__ import annotations

import sys

from krita import Extension, Krita

from . import engine_bridge, errors
from .errors import TITLE
from .qt import QtWidgets
from .settings import PluginSettings

ACTION_ID = "neural_style_transfer"
ACTION_TEXT = "Neural Style Transfer…"
MENU = "tools/scripts"


def layers_selection_empty(document) -> bool:
    from .layers import selection_rect

    return selection_rect(document) is None


def _main_window():
    window = Krita.instance().activeWindow()
    return window.qwindow() if window is not None else None


def _selected_nodes(document) -> list:
    from .jobs import is_mask

    window = Krita.instance().activeWindow()
    view = window.activeView() if window is not None else None
    if view is None or view.document() != document:
        return []
    return [node for node in view.selectedNodes() if not is_mask(node)]


def _layer_choices(document) -> list:
    """(indented label, node) for every layer, top of the stack first. Layers that share a
    name are told apart by their place among them: "Layer 1 (2 of 3 from the top)"."""
    from .jobs import is_mask

    found = []

    def walk(node, depth):
        for child in reversed(node.childNodes()):
            if is_mask(child):
                continue
            found.append((depth, child))
            if child.type() == "grouplayer":
                walk(child, depth + 1)

    walk(document.rootNode(), 0)
    return label_layers([(depth, node.name(), node) for depth, node in found])


def label_layers(entries) -> list:
    """(depth, name, node) in stack order → (label, node), duplicates numbered from the top."""
    totals = {}
    for _, name, _ in entries:
        totals[name] = totals.get(name, 0) + 1
    seen, choices = {}, []
    for depth, name, node in entries:
        seen[name] = seen.get(name, 0) + 1
        label = name if totals[name] == 1 else f"{name} ({seen[name]} of {totals[name]} from the top)"
        choices.append(("    " * depth + label, node))
    return choices


def _shapes(document, nodes, use_selection: bool = True) -> list:
    """The area each node would be styled in (plugin/cost.py), from bounds only: cut to the
    selection, or (``use_selection=False``, what a *Regions* run styles) the whole layer."""
    from . import jobs, layers
    from .cost import Shape

    selected = use_selection and layers.selection_rect(document) is not None
    found = []
    for node in nodes:
        if node is None or node.parentNode() is None or jobs.is_mask(node):
            continue
        try:
            rect = layers.work_rect(document, node, use_selection)
        except errors.PluginError:  # empty, or outside the selection: Stylize says so in words
            continue
        found.append(Shape(rect.height, rect.width, jobs.whole_long_side(node, rect), selected))
    return found


def _keyframes(document, node):
    """How many keyframes the active layer has in the animation's range (0 if it is not animated;
    None where the choice is not offered: this Krita (animation.UNSAFE_VERSIONS), or no numpy)."""
    try:
        from . import animation

        return None if animation.unavailable() else len(animation.keyframe_times(document, node))
    except Exception:  # noqa: BLE001 — numpy missing (the dialog says so) or a node Krita does not animate
        return None


def _canvas_shape(document):
    """An animation's area (plugin/animation.py): the canvas, cut to the selection."""
    from . import animation, layers
    from .cost import Shape

    rect = animation.canvas_rect(document)
    return Shape(rect.height, rect.width, 0, layers.selection_rect(document) is not None)


def _refusal(nodes) -> str:
    """What Stylize would refuse about these layers' pixels (a CMYK layer…), known before the click."""
    from . import jobs, layers

    for node in nodes:
        if node is None or node.parentNode() is None or jobs.is_mask(node):
            continue
        try:
            layers.pixel_format(node)
        except errors.PluginError as error:
            return str(error)
    return ""


def _remember_engine(info) -> None:
    """Keep what the engine thread found (worker.EngineInfo), so the next dialog knows at once."""
    if info.problem:
        return
    settings = PluginSettings.load()
    settings.auto_device, settings.auto_device_name = info.device, info.name
    if info.rate is not None:
        settings.remember_rate(info.rate)
    settings.save()


class NeuralStyleExtension(Extension):
    def __init__(self, parent):
        super().__init__(parent)
        self.dialog = None
        self.run = None
        self.document = None

    def setup(self):
        Krita.instance().notifier().applicationClosing.connect(self._on_closing)

    def createActions(self, window):
        action = window.createAction(ACTION_ID, ACTION_TEXT, MENU)
        action.setToolTip("Repaint layers in the style of another image, as new layers above them")
        action.triggered.connect(self.open_dialog)

    # ------------------------------------------------------------------ dialog
    def open_dialog(self):
        parent = _main_window()
        if self.run is not None and self.run.is_running():
            self.run.progress.show()
            self.run.progress.raise_()
            return
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return
        document = Krita.instance().activeDocument()
        if document is None:
            QtWidgets.QMessageBox.information(parent, TITLE, str(errors.no_document()))
            return
        from .ui.dialog import StyleDialog

        problem = engine_bridge.missing_dependency()
        active = document.activeNode()
        if problem is None and (active is None or active.parentNode() is None):
            problem = errors.no_layer()
        selected = _selected_nodes(document)
        self.document = document
        targets = {"active": [active], "selected": selected or [active], "frames": [active]}
        shapes = {key: _shapes(document, nodes) for key, nodes in targets.items()}
        whole = {key: _shapes(document, nodes, use_selection=False) for key, nodes in targets.items()}
        keyframes = _keyframes(document, active)
        if keyframes:
            shapes["frames"] = whole["frames"] = [_canvas_shape(document)]
        self.dialog = StyleDialog(
            PluginSettings.load(), _layer_choices(document),
            active_name=active.name() if active is not None else "",
            selected_count=len(selected) or (1 if active is not None else 0),
            has_selection=not layers_selection_empty(document),
            problem=str(problem) if problem else "", parent=parent,
            group_choices=[(label, node) for label, node in _layer_choices(document) if node.type() == "grouplayer"],
            targets=selected or [active], shapes=shapes, whole_shapes=whole,
            refusals={key: _refusal(nodes) for key, nodes in targets.items()}, keyframes=keyframes)
        self.dialog.stylize_requested.connect(self._stylize)
        self.dialog.engine_known.connect(_remember_engine)
        self.dialog.finished.connect(self._dialog_closed)
        self.dialog.open()

    def _dialog_closed(self, _result):
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None

    def _stylize(self):
        dialog = self.dialog
        if dialog is None:
            return
        values = dialog.values()
        values.save()
        from . import jobs
        from .controller import StyleRun

        document = self.document
        try:
            if document is None or not any(doc == document for doc in Krita.instance().documents()):
                raise errors.document_closed()
            style = jobs.resolve_style(document, dialog.style_choice())
            nodes = jobs.target_nodes(document, values.target)
            if style.node_id is not None and any(node.uniqueId() == style.node_id for node in nodes):
                raise errors.style_is_target(style.label)
            document.waitForDone()
            mode, second, group = dialog.regions_choice()
            if values.target == "frames":
                from . import animation

                layer_jobs = [animation.prepare(document, nodes[0], style.label)]
            elif mode in (None, "none"):
                layer_jobs = [jobs.prepare(document, node, style.label) for node in nodes]
            else:
                style, layer_jobs = self._regions(document, nodes, dialog, style, mode, second, group, values)
        except errors.PluginError as error:
            dialog.show_problem(str(error))
            return
        except Exception as error:  # nst_core.BadImage (a style file over the pixel budget, unreadable)
            nst_core = sys.modules.get("nst_core")
            if nst_core is None or not isinstance(error, nst_core.NSTError):
                dialog.show_problem(errors.unexpected(error))
                return
            dialog.show_problem(str(error))
            return
        dialog.accept()
        if self.run is not None:
            self.run.progress.deleteLater()  # the previous run's (hidden) progress window
        self.run = StyleRun(layer_jobs, style, values.preset, values.engine_options(), _main_window())
        self.run.start()

    def _regions(self, document, nodes, dialog, style, mode, second, group, values):
        """The paintings and per-layer region masks of a *Regions* choice (plugin/regions.py)."""
        from . import jobs, regions

        if mode in ("selection_two", "selection_keep"):
            selection = document.selection()
            if selection is None or layers_selection_empty(document):
                raise errors.regions_need_selection()
            if mode == "selection_two":
                if not second:
                    raise errors.no_second_painting()
                paintings, masks = [dialog.style_choice(), second], [selection, None]
            else:
                paintings, masks = [dialog.style_choice()], [selection]
        else:
            nodes_for_regions = regions.region_nodes(mode, nodes[0], group)
            recent = values.recent_styles
            paintings = [regions.painting_for(n.name(), dialog.style_path(), recent) for n in nodes_for_regions]
            masks = nodes_for_regions
        combined = regions.combined_style(document, paintings)
        layer_jobs = [jobs.prepare(document, node, combined.label, use_selection=False) for node in nodes]
        regions.attach(document, layer_jobs, masks, keep_rest=(mode == "selection_keep"))
        return combined, layer_jobs

    def _on_closing(self):
        if self.run is not None:
            self.run.shutdown()
