"""The GIMP dialog: style file with a thumbnail, preset, detail, the advanced settings, and
the cost line — what the run will cost before the click.

Built with ``GimpUi.ProcedureDialog`` from the procedure's arguments, so GIMP remembers
the values between runs and shows them the GIMP way; the painting choosers (with an image
filter and a thumbnail: the painting, and Regions' second painting) and the cost line are
hand-made. A layer as the painting is GIMP's own layer chooser (with its preview).

The cost line is Krita's: the finished size and the time on this computer's device
("600 × 400 px (the layer's own size) · about 1 min 30 s on the CPU"), planned by the
engine exactly as the run will be (``worker --estimate``, through :class:`bridge.Estimator`,
so GIMP's own Python needs no torch) and priced by a few seconds' measurement the first time
(remembered in GIMP's folder, per device). A run over 10 minutes is called long (orange);
anything the run would refuse — no painting, a painting that cannot be read, an indexed
image, too little memory, the engine not set up, regions that cannot be made (no selection, no
saved selections, a channel named after no painting, no second painting) — is said there in
red, and OK is disabled.
An indexed image is refused rather than converted: converting would change the painter's
whole image (its palette), which a filter should not do behind their back.
"""
from __future__ import annotations

import os

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import Gdk, GdkPixbuf, Gimp, GimpUi, Gio, GLib, Gtk  # noqa: E402

from . import PROCEDURE, bridge, messages  # noqa: E402
from .procedure import (COLOUR_CHOICES, DETAIL_CHOICES, DEVICE_CHOICES, area_shapes, painting_choice,  # noqa: E402
                        read_settings, recent_paintings, region_plan, selected_layers, trace)

THUMBNAIL = 160
ADVANCED = ["steps", "size", "style-strength", "style-scale", "preserve-colors", "seed", "device"]
#: what the painting chooser offers first (Pillow, which the engine reads with, opens all of these)
IMAGE_PATTERNS = ("*.jpg", "*.jpeg", "*.png", "*.webp", "*.tif", "*.tiff", "*.bmp", "*.gif", "*.ppm", "*.tga")
RED, ORANGE = "#c0392b", "#b9770e"
#: the measured step costs (nst_core.calibrate), per device, kept between sessions
COSTS_FILE = "neural-style-transfer-costs.json"
def thumbnail(path):
    """A GdkPixbuf of the style file, or None when GIMP's image loaders cannot show it."""
    if not path:
        return None
    try:
        return GdkPixbuf.Pixbuf.new_from_file_at_scale(path, THUMBNAIL, THUMBNAIL, True)
    except GLib.Error:
        return None


def image_filter() -> Gtk.FileFilter:
    images = Gtk.FileFilter()
    images.set_name("Images")
    images.add_pixbuf_formats()
    for pattern in IMAGE_PATTERNS:
        images.add_pattern(pattern)
        images.add_pattern(pattern.upper())
    return images


def all_files() -> Gtk.FileFilter:
    every = Gtk.FileFilter()
    every.set_name("All files")
    every.add_pattern("*")
    return every


class CostLine:
    """The dialog's state: the painting chooser, thumbnail, cost line and OK's sensitivity."""

    def __init__(self, dialog, config, image, drawables) -> None:
        self.dialog, self.config, self.image, self.drawables = dialog, config, image, drawables
        self.answer = None  # the estimator's last reply for the current request
        self.asked = 0
        self.pending = None
        self.second = SecondPainting(config)
        self._check_choices()
        self.estimator = None
        self.engine_problem = None
        try:
            self.estimator = bridge.Estimator(bridge.engine_python(), self._answered)
        except messages.PluginError as error:
            self.engine_problem = str(error)

        self.chooser = Gtk.FileChooserButton(title="Choose the painting to take the style from",
                                             action=Gtk.FileChooserAction.OPEN)
        self.chooser.add_filter(image_filter())
        self.chooser.add_filter(all_files())
        self.chooser.connect("file-set", self._chosen)
        label = Gtk.Label.new_with_mnemonic("Style _file")
        label.set_mnemonic_widget(self.chooser)
        self.recent = recent_paintings()
        self.recent_combo = Gtk.ComboBoxText()
        for path in self.recent:
            self.recent_combo.append(path, os.path.basename(path))
        self.recent_combo.set_tooltip_text("The paintings of your last runs")
        self.recent_combo.connect("changed", self._recent_chosen)
        recent_label = Gtk.Label.new_with_mnemonic("Recen_t")
        recent_label.set_mnemonic_widget(self.recent_combo)
        self.preview = Gtk.Image()
        self.caption = Gtk.Label()
        self.caption.set_line_wrap(True)
        self.caption.set_max_width_chars(48)
        self.cost = Gtk.Label(xalign=0.0)
        self.cost.set_line_wrap(True)
        self.cost.set_max_width_chars(56)
        self.cost.set_selectable(True)
        row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=8)
        row.pack_start(label, False, False, 0)
        row.pack_start(self.chooser, True, True, 0)
        self.top = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        self.top.set_border_width(12)
        self.top.pack_start(row, False, False, 0)
        if self.recent:
            recent_row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=8)
            recent_row.pack_start(recent_label, False, False, 0)
            recent_row.pack_start(self.recent_combo, True, True, 0)
            self.top.pack_start(recent_row, False, False, 0)
        self.top.pack_start(self.preview, False, False, 0)
        self.top.pack_start(self.caption, False, False, 0)
        self.bottom = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        self.bottom.set_border_width(12)
        self.bottom.pack_start(self.cost, False, False, 0)
        config.connect("notify", self._changed)
        self._style_changed()
        self._ask()

    # --- the painting ------------------------------------------------------------------
    def style_path(self):
        style = self.config.get_property("style-file")
        return style.get_path() if style is not None else None

    def _chosen(self, chooser) -> None:
        self.config.set_property("style-file", chooser.get_file())

    def _recent_chosen(self, combo) -> None:
        path = combo.get_active_id()
        if path and path != self.style_path():
            self.config.set_property("style-file", Gio.File.new_for_path(path))

    def _changed(self, _config, pspec) -> None:
        self._check_choices()
        if pspec.name in ("style-file", "style-layer"):
            self._style_changed()
        if pspec.name in ("second-style-file", "regions"):
            self.second.follow()
        if self.pending is None:  # one request for a burst of changes (Reset changes them all)
            self.pending = GLib.timeout_add(120, self._ask)

    def _style_changed(self) -> None:
        """The chooser, thumbnail and caption follow the setting — also after Reset."""
        style = self.config.get_property("style-file")
        shown = self.chooser.get_file()
        if style is None:
            self.chooser.unselect_all()
        elif shown is None or not shown.equal(style):
            self.chooser.set_file(style)
        path = self.style_path()
        if self.recent_combo.get_active_id() != path:
            if path in self.recent:
                self.recent_combo.set_active_id(path)
            else:
                self.recent_combo.set_active(-1)
        self.thumb = thumbnail(path)
        if self.thumb is not None:
            self.preview.set_from_pixbuf(self.thumb)
        else:
            self.preview.clear()
        self.answer = None
        self._show()

    def _check_choices(self) -> None:
        """The areas the run styles (whole layers with regions) and whatever the run would refuse
        in the painting and regions chosen (no selection, no channels, no second painting …)."""
        self.area_problem, self.choice_problem, self.shapes = None, None, []
        if self.image is None:
            return
        settings = read_settings(self.config)
        try:
            self.shapes = area_shapes(self.image, self.drawables, whole=settings["regions"] != "none")
        except messages.PluginError as error:
            self.area_problem = str(error)
            return
        try:
            layers = selected_layers(self.image, self.drawables)
            region_plan(self.image, layers, settings, painting_choice(layers, settings))
        except messages.PluginError as error:
            self.choice_problem = str(error)

    def style_layer(self):
        layer = self.config.get_property("style-layer")
        return layer if layer is not None and layer.is_valid() else None

    # --- the estimate --------------------------------------------------------------------
    def _ask(self) -> bool:
        self.pending = None
        self.answer = None
        layer = self.style_layer()
        if self.estimator is not None and (self.style_path() or layer) and not self.area_problem:
            settings = read_settings(self.config)
            painting = {"style": settings["style"]} if layer is None else {
                "style": None, "style_size": [layer.get_height(), layer.get_width()]}
            self.asked = self.estimator.ask({
                "costs": os.path.join(Gimp.directory(), COSTS_FILE), **painting,
                "preset": settings["preset"], "options": settings["options"], "shapes": self.shapes})
        self._show()
        return False

    def _answered(self, answer: dict) -> None:
        if answer.get("id") != self.asked:
            return  # a reply to settings since changed
        self.answer = answer
        self._show()

    def problem(self):
        """Why OK would fail, in the run's own words, or None."""
        if self.engine_problem:
            return self.engine_problem
        if self.area_problem:
            return self.area_problem
        if self.choice_problem:
            return self.choice_problem
        if not self.style_path() and self.style_layer() is None:
            return str(messages.no_style())
        if self.answer is not None:
            return self.answer.get("problem")
        return None

    def _show(self) -> None:
        path, problem, answer, layer = self.style_path(), self.problem(), self.answer, self.style_layer()
        if layer is not None:
            caption = f"The layer '{layer.get_name()}' is the painting (the style file is not used)."
        elif not path:
            caption = "Choose a painting to take the style from."
        elif self.thumb is not None or (answer is not None and answer.get("problem")):
            caption = ""  # the thumbnail shows it, or the red line says what is wrong
        elif answer is None:
            caption = "Checking the file…"
        else:
            caption = "No thumbnail: GIMP cannot show this file, but style transfer can read it."
        self.caption.set_text(caption)
        if problem:
            text, colour = problem, RED
        elif answer is None:
            text, colour = ("Working out what the run will cost…" if self.estimator is not None else ""), None
        else:
            text, colour = answer.get("text") or "", (ORANGE if answer.get("long") else None)
        escaped = GLib.markup_escape_text(text)
        self.cost.set_markup(f'<span foreground="{colour}">{escaped}</span>' if colour else escaped)
        self.dialog.set_response_sensitive(Gtk.ResponseType.OK, problem is None)
        trace("dialog", style=path, caption=caption, cost=text, problem=problem, ok=problem is None,
              seconds=(answer or {}).get("seconds"), size=(answer or {}).get("size"),
              thumbnail=self.thumb is not None, measured=answer is not None and answer.get("seconds") is not None,
              filters=[f.get_name() for f in self.chooser.list_filters()], recent=self.recent,
              style_layer=layer.get_name() if layer is not None else None, regions=self.config.get_property("regions"),
              second=self.second.path(), second_thumbnail=self.second.thumb is not None,
              second_sensitive=self.second.box.get_sensitive())

    def close(self) -> None:
        if self.pending is not None:
            GLib.source_remove(self.pending)
            self.pending = None
        if self.estimator is not None:
            self.estimator.close()
            self.estimator = None


class SecondPainting:
    """Regions' second painting (the area outside the selection): a chooser with a thumbnail,
    like the first painting's, usable when Regions is 'the rest a second one'."""

    def __init__(self, config) -> None:
        self.config = config
        self.chooser = Gtk.FileChooserButton(title="Choose the painting for the area outside the selection",
                                             action=Gtk.FileChooserAction.OPEN)
        self.chooser.add_filter(image_filter())
        self.chooser.add_filter(all_files())
        self.chooser.connect("file-set", lambda chooser: config.set_property("second-style-file", chooser.get_file()))
        label = Gtk.Label.new_with_mnemonic("Second painting (else_where)")
        label.set_mnemonic_widget(self.chooser)
        self.preview = Gtk.Image()
        row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=8)
        row.pack_start(label, False, False, 0)
        row.pack_start(self.chooser, True, True, 0)
        self.box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        self.box.set_border_width(12)
        self.box.pack_start(row, False, False, 0)
        self.box.pack_start(self.preview, False, False, 0)
        self.thumb = None
        self.follow()

    def path(self):
        second = self.config.get_property("second-style-file")
        return second.get_path() if second is not None else None

    def follow(self) -> None:
        """The chooser and thumbnail follow the setting (also after Reset)."""
        second = self.config.get_property("second-style-file")
        shown = self.chooser.get_file()
        if second is None:
            self.chooser.unselect_all()
        elif shown is None or not shown.equal(second):
            self.chooser.set_file(second)
        self.thumb = thumbnail(self.path())
        if self.thumb is not None:
            self.preview.set_from_pixbuf(self.thumb)
        else:
            self.preview.clear()
        self.box.set_sensitive(self.config.get_property("regions") == "selection_two")


def build(procedure, config, image=None, drawables=None):
    """The dialog, not yet shown, and its cost line."""
    GimpUi.init(PROCEDURE)
    dialog = GimpUi.ProcedureDialog(procedure=procedure, config=config, title=messages.TITLE)
    for name, choices in (("preserve-colors", COLOUR_CHOICES), ("device", DEVICE_CHOICES), ("detail", DETAIL_CHOICES)):
        dialog.get_int_combo(name, GimpUi.IntStore.new([label for _, label in choices]))
    dialog.get_label("advanced-title", "Advanced", False, False)
    dialog.fill_box("advanced-box", ADVANCED)
    dialog.fill_expander("advanced", "advanced-title", False, "advanced-box")
    dialog.fill(["style-layer", "preset", "detail", "animation", "regions", "advanced"])
    cost = CostLine(dialog, config, image, drawables)
    content = dialog.get_content_area()
    content.pack_start(cost.top, False, False, 0)
    content.reorder_child(cost.top, 0)
    content.pack_start(cost.second.box, False, False, 0)
    content.pack_end(cost.bottom, False, False, 0)
    cost.top.show_all()
    cost.second.box.show_all()
    cost.bottom.show_all()
    cost._show()  # OK's sensitivity once the buttons exist
    trace("mnemonics", keys=mnemonics(dialog))
    return dialog, cost


def mnemonics(widget) -> list:
    """[label, key] of every mnemonic in ``widget`` (labels and buttons; for tests: no key twice)."""
    found = []
    if isinstance(widget, Gtk.Label):
        key = widget.get_mnemonic_keyval()
        if key != Gdk.KEY_VoidSymbol:
            found.append([widget.get_label(), Gdk.keyval_name(Gdk.keyval_to_lower(key))])
    if isinstance(widget, Gtk.Container):
        for child in widget.get_children():
            found.extend(mnemonics(child))
    return found


def show(procedure, config, image=None, drawables=None) -> bool:
    """Run the dialog; True when the painter pressed OK."""
    dialog, cost = build(procedure, config, image, drawables)
    try:
        return bool(dialog.run())
    finally:
        cost.close()
        dialog.destroy()
