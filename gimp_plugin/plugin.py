"""The GIMP 3 plug-in itself: it registers ``plug-in-neural-style-transfer`` and runs it — the
dialog (interactive), then :func:`procedure.style_drawables` — answering every problem in one line.

Why a module of its own: the dialog is built from the procedure's declarations
(:mod:`.procedure`), and the procedure's body shows the dialog; with the body here, neither of
those two modules imports the other.
"""
from __future__ import annotations

import sys

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib  # noqa: E402

from . import PROCEDURE, bridge, messages  # noqa: E402
from .procedure import add_arguments, read_settings, remember_painting, style_drawables, trace  # noqa: E402


def failure(procedure, message: str):
    error = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), message, 0)
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)


def run(procedure, run_mode, image, drawables, config, data):
    """The procedure's body: dialog (interactive), then styling; never a traceback."""
    window = None
    try:
        if run_mode == Gimp.RunMode.INTERACTIVE:
            from . import dialog, progress  # GTK only where there is a display: not in batch runs

            if not dialog.show(procedure, config, image, drawables):
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
            window = progress.Window()
        settings = read_settings(config)
        style_drawables(image, drawables, settings, window)
        if window is not None:
            window.destroy()
            if settings["style_layer"] is None:
                remember_painting(settings["style"])  # the recent list holds paintings that worked
    except bridge.Cancelled:
        Gimp.progress_set_text(messages.CANCELLED)
        trace("cancelled", text=messages.CANCELLED)
        if window is not None:
            window.finish(messages.CANCELLED)  # says so, until the painter closes it
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    except messages.PluginError as error:
        trace("error", text=str(error))
        if window is not None:
            window.destroy()
        return failure(procedure, str(error))
    except Exception as error:  # noqa: BLE001 — one line for the painter, the traceback to stderr
        import traceback

        traceback.print_exc()
        if window is not None:
            window.destroy()
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
            "it (and above its earlier results), in one undo step. The source layer is never changed.", name)
        procedure.set_attribution("Neural Style Transfer project", "Neural Style Transfer project", "2025")
        return procedure


def main() -> None:
    Gimp.main(NeuralStyleTransfer.__gtype__, sys.argv)
