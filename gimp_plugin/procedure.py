"""The GIMP 3 procedure ``plug-in-neural-style-transfer`` (GIMP side).

Filters ▸ Artistic ▸ Neural Style Transfer… works on the selected layers: each one's
area (cut to the selection's bounding box) goes to the engine worker, and every result
becomes a new layer directly above its source, all inside one undo group. Nothing is
written to the image before every result is back, so a cancelled or failed run leaves
the image exactly as it was.
"""
from __future__ import annotations

import os
import sys

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

from nst_core.config import DETAIL_CHOICES as _ENGINE_DETAIL_CHOICES  # noqa: E402 (torch-free)

from . import DEFAULT_PRESET, PRESET_HINTS, PRESETS, PROCEDURE, bridge, messages, pixels  # noqa: E402

COLOUR_CHOICES = (("none", "Off"), ("luminance", "Keep the layer's colours (luminance)"),
                  ("histogram", "Match the layer's colours (histogram)"))
DEVICE_CHOICES = (("auto", "Automatic (GPU if there is one)"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)"),
                  ("mps", "Apple GPU (MPS)"))
DETAIL_CHOICES = _ENGINE_DETAIL_CHOICES  #: the Krita dialog's: to the layer's own size (default) or the working size
PRESET_LABELS = {name: f"{name.capitalize()} — {hint}" for name, hint in PRESET_HINTS.items()}
RW = GObject.ParamFlags.READWRITE


def result_name(layer_name: str, style_label: str) -> str:
    """The new layer's name, as in Krita."""
    return f"Styled – {layer_name} ({style_label})"


def _choice(entries):
    choice = Gimp.Choice.new()
    for index, (nick, label) in enumerate(entries):
        choice.add(nick, index, label, label)
    return choice


def add_arguments(procedure) -> None:
    """PDB arguments (style-file, preset, steps, size, seed) and dialog-only ones."""
    procedure.add_file_argument("style-file", "Style _file", "The painting whose style is applied",
                                Gimp.FileChooserAction.ANY, True, None, RW)
    procedure.add_choice_argument("preset", "_Preset", ", ".join(PRESETS),
                                  _choice([(p, PRESET_LABELS[p]) for p in PRESETS]), DEFAULT_PRESET, RW)
    procedure.add_int_argument("steps", "_Steps", "Optimisation steps (0 = the preset's)", 0, 5000, 0, RW)
    procedure.add_int_argument("size", "Working si_ze", "Long side in px the engine works at (0 = the preset's)",
                               0, 16384, 0, RW)
    procedure.add_int_argument("seed", "S_eed", "The same seed gives the same picture", 0, 2**31 - 1, 0, RW)
    procedure.add_double_aux_argument("style-strength", "Style s_trength",
                                      "Multiplies the preset's style weight", 0.05, 20.0, 1.0, RW)
    procedure.add_double_aux_argument("style-scale", "Style sc_ale",
                                      "Size of the painting's brush strokes relative to the working size",
                                      0.25, 4.0, 1.0, RW)
    # int, not choice, aux arguments: GIMP 3.0.4's plug-in crashes on choice aux arguments
    procedure.add_int_aux_argument("preserve-colors", "_Colours", "; ".join(
        f"{i} = {label}" for i, (_, label) in enumerate(COLOUR_CHOICES)), 0, len(COLOUR_CHOICES) - 1, 0, RW)
    procedure.add_int_aux_argument("detail", "De_tail", "; ".join(
        f"{i} = {label}" for i, (_, label) in enumerate(DETAIL_CHOICES)), 0, len(DETAIL_CHOICES) - 1, 0, RW)
    procedure.add_int_aux_argument("device", "_Device", "; ".join(
        f"{i} = {label}" for i, (_, label) in enumerate(DEVICE_CHOICES)), 0, len(DEVICE_CHOICES) - 1, 0, RW)


def _pick(choices, index: int) -> str:
    return choices[index][0] if 0 <= index < len(choices) else choices[0][0]


def read_settings(config) -> dict:
    """The run's settings from the procedure config."""
    style = config.get_property("style-file")
    return {
        "style": style.get_path() if style is not None else None,
        "preset": config.get_property("preset") or DEFAULT_PRESET,
        "options": {
            "steps": config.get_property("steps"), "size": config.get_property("size"),
            "seed": config.get_property("seed"), "style_strength": config.get_property("style-strength"),
            "style_scale": config.get_property("style-scale"),
            "preserve_colors": _pick(COLOUR_CHOICES, config.get_property("preserve-colors")),
            "device": _pick(DEVICE_CHOICES, config.get_property("device")),
            "detail": _pick(DETAIL_CHOICES, config.get_property("detail")),
        },
    }


def style_path(path) -> str:
    if not path:
        raise messages.no_style()
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise messages.style_file_missing(path)
    return path


class Progress:
    """GIMP's progress bar, one bar over all layers."""

    def __init__(self, names) -> None:
        self.names = list(names)
        Gimp.progress_init("Neural Style Transfer: starting the engine…")

    def __call__(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "ready":
            Gimp.progress_set_text(f"Neural Style Transfer on the {event.get('device', 'cpu').upper()}…")
            return
        if kind != "progress":
            return
        index, count = event["job"], event["jobs"]
        step, total = event["step"], max(1, event["total"])
        name = self.names[index] if index < len(self.names) else ""
        which = f" ({index + 1}/{count})" if count > 1 else ""
        Gimp.progress_set_text(f"Styling '{name}'{which}: step {step} of {total}")
        Gimp.progress_update(min(1.0, (index + step / total) / count))


def style_drawables(image, drawables, settings: dict) -> list:
    """Style each selected layer; returns the new layers (added in one undo group)."""
    pixels.check_image(image)
    layers = list(drawables or [])
    if not layers:
        raise messages.no_layer()
    for drawable in layers:
        if not isinstance(drawable, Gimp.Layer):
            raise messages.not_a_layer(drawable.get_name())
    style = style_path(settings.get("style"))
    python = bridge.engine_python()
    label = os.path.splitext(os.path.basename(style))[0]
    work = bridge.WorkDir()
    try:
        prepared = []
        for layer in layers:
            rect = pixels.work_rect(image, layer)
            rgba = pixels.read_rgba(layer, rect)
            mask = pixels.read_selection(image, rect)
            if not pixels.any_visible(rgba, None):
                raise messages.empty_layer(layer.get_name())
            if mask is not None and not pixels.any_visible(rgba, mask):
                raise messages.selection_misses(layer.get_name())
            prepared.append((layer, rect, work.add(rgba, mask, rect.width, rect.height)))
        request = {"style": style, "preset": settings.get("preset"), "options": settings.get("options", {}),
                   "workdir": work.path, "jobs": [job.as_dict() for _, _, job in prepared]}
        progress = Progress(layer.get_name() for layer, _, _ in prepared)
        log = os.path.join(work.path, "worker.log")
        try:
            bridge.run_worker(python, request, progress, log_path=log)
        except messages.PluginError as error:
            detail = _last_line(log)
            if "stopped unexpectedly" in str(error) and detail:
                raise messages.engine_crashed(detail) from None
            raise
        results = [(layer, rect, work.result(job, rect.width, rect.height)) for layer, rect, job in prepared]
        for layer, _, _ in results:
            if not layer.is_valid():
                raise messages.layer_gone("?")
        Gimp.progress_set_text("Neural Style Transfer: adding the result")
        added = []
        image.undo_group_start()
        try:
            for layer, rect, rgba in results:
                new = pixels.new_layer(image, result_name(layer.get_name(), label), rect, rgba)
                pixels.insert_above(image, layer, new)
                added.append(new)
        finally:
            image.undo_group_end()
        Gimp.progress_update(1.0)
        Gimp.displays_flush()
        return added
    finally:
        work.close()


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def failure(procedure, message: str):
    error = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), message, 0)
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)


def run(procedure, run_mode, image, drawables, config, data):
    """The procedure's body: dialog (interactive), then styling; never a traceback."""
    try:
        if run_mode == Gimp.RunMode.INTERACTIVE:
            from . import dialog

            if not dialog.show(procedure, config):
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        style_drawables(image, drawables, read_settings(config))
    except bridge.Cancelled:
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    except messages.PluginError as error:
        return failure(procedure, str(error))
    except Exception as error:  # noqa: BLE001 — one line for the painter, the traceback to stderr
        import traceback

        traceback.print_exc()
        return failure(procedure, str(messages.unexpected(error)))
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


class NeuralStyleTransfer(Gimp.PlugIn):
    """Registers the one procedure."""

    def do_query_procedures(self):
        return [PROCEDURE]

    def do_set_i18n(self, name):
        return False, None, None

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        add_arguments(procedure)
        procedure.set_image_types("*")  # indexed images get a message instead of a greyed-out menu
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE
                                       | Gimp.ProcedureSensitivityMask.DRAWABLES)
        procedure.set_menu_label("Neural Style Transfer…")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            "Re-paint layers in the style of a painting",
            "Each selected layer (its selected part, if there is a selection) is re-painted in the style "
            "of the style file by a neural network (Gatys et al. 2015); the result is a new layer above "
            "it, in one undo step. The source layer is never changed.", name)
        procedure.set_attribution("Neural Style Transfer project", "Neural Style Transfer project", "2025")
        return procedure


def main() -> None:
    Gimp.main(NeuralStyleTransfer.__gtype__, sys.argv)
