"""The progress window of an interactive run (GIMP side): the step, the time left, a live
preview of the picture so far and *Cancel* — which stops within one step and then says that
nothing in the image was changed, until the painter closes the window.

GIMP's own progress bar (bottom of the image window) shows the same text; its cancel button
ends the plug-in (GIMP kills it), which also stops the engine with nothing changed, but leaves
the plug-in no moment to say so — this window's *Cancel* does.
"""
from __future__ import annotations

import threading

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("GimpUi", "3.0")
from gi.repository import GdkPixbuf, GimpUi, GLib, Gtk  # noqa: E402

from nst_core import meanwhile  # noqa: E402 (torch-free)

from . import messages  # noqa: E402

PREVIEW_SIDE = 256


#: the answers of :meth:`Window.ask` (nst_core.meanwhile's words, with GTK mnemonics)
KEEP, AGAIN = 1, 2
LABELS = {KEEP: "_" + meanwhile.KEEP, AGAIN: meanwhile.AGAIN.replace(" a", " _a", 1)}


class Window:
    """Shown from OK to the end of the run; GIMP stays usable meanwhile."""

    def __init__(self) -> None:
        self.cancel_requested = threading.Event()
        self.running = True
        self._loop = None
        self._answer = None
        self.dialog = Gtk.Dialog(title=messages.TITLE, modal=False)
        self.dialog.set_default_size(360, -1)
        try:
            GimpUi.window_set_transient(self.dialog)
        except (AttributeError, TypeError):
            pass
        self.button = self.dialog.add_button("_Cancel", Gtk.ResponseType.CANCEL)
        self.dialog.connect("response", self._response)
        self.dialog.connect("delete-event", self._delete)
        box = self.dialog.get_content_area()
        box.set_border_width(12)
        box.set_spacing(8)
        self.text = Gtk.Label(label="Starting…", xalign=0.0)
        self.text.set_line_wrap(True)
        self.text.set_max_width_chars(48)
        self.bar = Gtk.ProgressBar()
        self.preview = Gtk.Image()
        self.preview.set_size_request(PREVIEW_SIDE, -1)
        box.pack_start(self.text, False, False, 0)
        box.pack_start(self.bar, False, False, 0)
        box.pack_start(self.preview, False, False, 0)
        self.dialog.show_all()
        self._flush()

    @staticmethod
    def _flush() -> None:
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)

    # --- while running ---------------------------------------------------------------
    def set_text(self, text: str, flush: bool = True) -> None:
        if not self.cancel_requested.is_set():
            self.text.set_text(text)
        if flush:  # before the run's main loop turns, draw it now
            self._flush()

    def progress(self, text: str, fraction: float, preview) -> None:
        """From the run's main loop (which draws it)."""
        self.set_text(text, flush=False)
        self.bar.set_fraction(max(0.0, min(1.0, fraction)))
        if preview:
            self._show_preview(preview)

    def _show_preview(self, preview: dict) -> None:
        try:
            with open(preview["path"], "rb") as handle:
                data = handle.read()
            width, height = int(preview["width"]), int(preview["height"])
            if len(data) != width * height * 3:
                return
            pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(GLib.Bytes.new(data), GdkPixbuf.Colorspace.RGB, False, 8,
                                                     width, height, width * 3)
        except (OSError, KeyError, ValueError, TypeError, GLib.Error):
            return  # a preview is a nicety; the next one may come through
        scale = PREVIEW_SIDE / max(width, height)
        if scale > 1:  # the coarse levels are small: shown at the window's size
            pixbuf = pixbuf.scale_simple(round(width * scale), round(height * scale), GdkPixbuf.InterpType.BILINEAR)
        self.preview.set_from_pixbuf(pixbuf)

    def _cancel(self) -> None:
        if self.running and not self.cancel_requested.is_set():
            self.cancel_requested.set()
            self.button.set_sensitive(False)
            self.text.set_text("Stopping after the current step…")

    def _response(self, _dialog, response) -> None:
        if self.running:
            self._cancel()
        elif self._loop is not None:
            self._answer = response
            self._loop.quit()

    def _delete(self, *_args) -> bool:
        self._response(None, Gtk.ResponseType.DELETE_EVENT)
        return True  # closed by finish()/destroy(), not by the window manager

    # --- at the end -----------------------------------------------------------------
    def ask(self, message: str) -> bool:
        """A layer was painted on during the run: True to style again, False to keep the result
        (also when the window is closed)."""
        self.running = False
        self.text.set_text(message)
        self.bar.set_fraction(1.0)
        self.button.hide()
        buttons = [self.dialog.add_button(LABELS[answer], answer) for answer in (AGAIN, KEEP)]
        self.dialog.set_default_response(KEEP)
        buttons[1].grab_focus()
        self._answer = None
        self._loop = GLib.MainLoop()
        self._loop.run()
        self._loop = None
        for button in buttons:
            button.destroy()
        again = self._answer == AGAIN
        if again:  # the same window follows the new run
            self.running = True
            self.button.show()
            self.bar.set_fraction(0.0)
            self.set_text("Starting again with the new strokes…")
        return again

    def finish(self, message: str) -> None:
        """Say ``message`` (e.g. that Cancel changed nothing) until the painter closes the window."""
        self.running = False
        self.text.set_text(message)
        self.button.set_label("_Close")
        self.button.set_use_underline(True)
        self.button.set_sensitive(True)
        self.button.grab_focus()
        self._loop = GLib.MainLoop()
        self._loop.run()
        self.destroy()

    def destroy(self) -> None:
        self.running = False
        if self.dialog is not None:
            self.dialog.destroy()
            self.dialog = None
            self._flush()
