"""The GIMP dialog: style file with a thumbnail, preset, detail, and the advanced settings.

Built with ``GimpUi.ProcedureDialog`` from the procedure's arguments, so GIMP remembers
the values between runs and shows them the GIMP way; only the thumbnail is hand-made.
"""
from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import GdkPixbuf, Gimp, GimpUi, GLib, Gtk  # noqa: E402

from . import PROCEDURE, messages  # noqa: E402
from .procedure import COLOUR_CHOICES, DETAIL_CHOICES, DEVICE_CHOICES  # noqa: E402

THUMBNAIL = 160
ADVANCED = ["steps", "size", "style-strength", "style-scale", "preserve-colors", "seed", "device"]


def thumbnail(path):
    """A GdkPixbuf of the style file, or None when it cannot be read."""
    if not path:
        return None
    try:
        return GdkPixbuf.Pixbuf.new_from_file_at_scale(path, THUMBNAIL, THUMBNAIL, True)
    except GLib.Error:
        return None


def build(procedure, config):
    """The dialog, not yet shown."""
    GimpUi.init(PROCEDURE)
    dialog = GimpUi.ProcedureDialog(procedure=procedure, config=config, title=messages.TITLE)
    for name, choices in (("preserve-colors", COLOUR_CHOICES), ("device", DEVICE_CHOICES), ("detail", DETAIL_CHOICES)):
        dialog.get_int_combo(name, GimpUi.IntStore.new([label for _, label in choices]))
    dialog.get_label("advanced-title", "Advanced", False, False)
    dialog.fill_box("advanced-box", ADVANCED)
    dialog.fill_expander("advanced", "advanced-title", False, "advanced-box")
    dialog.fill(["preset", "detail", "advanced"])

    # The style-file argument accepts any path (so a missing file gets our plain message
    # instead of GIMP's calling error); the chooser itself is an "open a file" one.
    chooser = GimpUi.FileChooser.new(Gimp.FileChooserAction.OPEN, "Style file",
                                     "Choose the painting to take the style from",
                                     config.get_property("style-file"))
    chooser.connect("notify::file", lambda widget, _pspec: config.set_property("style-file", widget.get_property("file")))
    preview = Gtk.Image()
    caption = Gtk.Label()
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
    box.set_border_width(12)
    box.pack_start(chooser, False, False, 0)
    box.pack_start(preview, False, False, 0)
    box.pack_start(caption, False, False, 0)

    def update(*_args):
        style = config.get_property("style-file")
        path = style.get_path() if style is not None else None
        pixbuf = thumbnail(path)
        if pixbuf is not None:
            preview.set_from_pixbuf(pixbuf)
            caption.set_text("")
        else:
            preview.clear()
            caption.set_text("Choose a painting to take the style from." if not path else
                             "This file cannot be shown; it may not be an image.")

    config.connect("notify::style-file", update)
    update()
    content = dialog.get_content_area()
    content.pack_start(box, False, False, 0)
    content.reorder_child(box, 0)
    box.show_all()
    return dialog


def show(procedure, config) -> bool:
    """Run the dialog; True when the painter pressed OK."""
    dialog = build(procedure, config)
    try:
        return bool(dialog.run())
    finally:
        dialog.destroy()
