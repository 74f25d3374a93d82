"""The GIMP 3 procedure ``plug-in-neural-style-transfer`` (GIMP side).

Filters ▸ Artistic ▸ Neural Style Transfer… works on the selected layers: each one's
area (cut to the selection's bounding box) goes to the engine worker, and every result
becomes a new layer above its source (and above that source's earlier results, so the
newest is the one seen), all inside one undo group. Nothing is
written to the image before every result is back, so a cancelled or failed run leaves
the image exactly as it was.

The painting is a file or, with 'style-layer', a layer of an open image; with 'regions' each
part of the layer gets its own painting (the selection and the rest, or each saved selection:
:mod:`.regions`), and then the whole layer is styled, as in Krita.
"""
from __future__ import annotations

import os
import threading

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

from nst_core import meanwhile, paintings  # noqa: E402 (torch-free)
from nst_core.config import DETAIL_CHOICES as _ENGINE_DETAIL_CHOICES  # noqa: E402 (torch-free)

from . import DEFAULT_PRESET, PRESET_HINTS, PRESETS, bridge, messages, pixels, regions  # noqa: E402

COLOUR_CHOICES = (("none", "Off"), ("luminance", "Keep the layer's colours (luminance)"),
                  ("histogram", "Match the layer's colours (histogram)"))
DEVICE_CHOICES = (("auto", "Automatic (GPU if there is one)"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)"),
                  ("mps", "Apple GPU (MPS)"))
DETAIL_CHOICES = _ENGINE_DETAIL_CHOICES  #: the Krita dialog's: to the layer's own size (default) or the working size
PRESET_LABELS = {name: f"{name.capitalize()} — {hint}" for name, hint in PRESET_HINTS.items()}
RW = GObject.ParamFlags.READWRITE


#: the paintings of the last successful runs, newest first (a file that failed never gets in)
RECENT_FILE = "neural-style-transfer-recent.json"
RECENT_COUNT = 8


def recent_paintings() -> list:
    """The recent paintings that still exist, newest first."""
    import json

    try:
        with open(os.path.join(Gimp.directory(), RECENT_FILE), encoding="utf-8") as handle:
            paths = json.load(handle)
    except (OSError, ValueError):
        return []
    return [p for p in paths if isinstance(p, str) and os.path.isfile(p)][:RECENT_COUNT] if isinstance(paths, list) else []


def remember_painting(path: str) -> None:
    """Put ``path`` first in the recent list (after a run that used it succeeded)."""
    import json

    paths = [path] + [p for p in recent_paintings() if p != path]
    target = os.path.join(Gimp.directory(), RECENT_FILE)
    try:
        with open(target + ".part", "w", encoding="utf-8") as handle:
            json.dump(paths[:RECENT_COUNT], handle)
        os.replace(target + ".part", target)
    except OSError:
        pass


def trace(event: str, **fields) -> None:
    """For tests: what the painter reads (dialog, progress), appended as JSON lines to the
    file ``NST_GIMP_TRACE`` names (set through GIMP's environ folder); nothing otherwise."""
    path = os.environ.get("NST_GIMP_TRACE")
    if not path:
        return
    import json
    import time

    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, "time": time.time(), **fields}) + "\n")
    except OSError:
        pass


def _choice(entries):
    choice = Gimp.Choice.new()
    for index, (nick, label) in enumerate(entries):
        choice.add(nick, index, label, label)
    return choice


#: What a 0 in Steps or Working size means, in the label itself (not only its tooltip).
PRESETS_OWN = "0 = the preset's"


def add_arguments(procedure) -> None:
    """PDB arguments (style-file, preset, steps, size, seed) and dialog-only ones.

    Mnemonics are unique in the dialog (tests/test_gimp.py reads them back): the fields take
    f (Style file), t (Recent), y (a layer as the painting), p, i (Detail), m (animation), g (Regions),
    w (the second painting), e (Steps), z, d (Seed), n (Style strength), a, u (Colours), v (Device);
    GIMP's buttons take h, l, s, r, c, o (Help, Load Saved Settings, Save Settings, Reset, Cancel, OK).
    The arguments after 'animation' (regions, second-style-file, style-layer) came later, so they
    come last: scripts that pass the earlier ones by position keep working.
    """
    procedure.add_file_argument("style-file", "Style _file", "The painting whose style is applied",
                                Gimp.FileChooserAction.ANY, True, None, RW)
    procedure.add_choice_argument("preset", "_Preset", ", ".join(PRESETS),
                                  _choice([(p, PRESET_LABELS[p]) for p in PRESETS]), DEFAULT_PRESET, RW)
    procedure.add_int_argument("steps", f"St_eps ({PRESETS_OWN})", "Optimisation steps (0 = the preset's)",
                               0, 5000, 0, RW)
    procedure.add_int_argument("size", f"Working si_ze, px ({PRESETS_OWN})",
                               "Long side in px the engine works at (0 = the preset's)", 0, 16384, 0, RW)
    procedure.add_int_argument("seed", "See_d", "The same seed gives the same picture", 0, 2**31 - 1, 0, RW)
    procedure.add_boolean_argument("animation", "As one ani_mation (the selected layers are its frames)",
                                   "Style the layers as the frames of one animation, bottom layer first, so the "
                                   "strokes do not flicker; the styled frames go above the top one, in order",
                                   False, RW)
    procedure.add_choice_argument("regions", "Re_gions", "; ".join(f"{key} = {label}" for key, label in regions.MODES),
                                  _choice(regions.MODES), "none", RW)
    procedure.add_file_argument("second-style-file", "Second painting (else_where)",
                                "Regions: the painting for the area outside the selection",
                                Gimp.FileChooserAction.ANY, True, None, RW)
    procedure.add_layer_argument("style-layer", "Or a la_yer as the painting",
                                 "A layer of an open image whose pixels are the painting (none = the style file)",
                                 True, RW)
    procedure.add_double_aux_argument("style-strength", "Style stre_ngth",
                                      "Multiplies the preset's style weight", 0.05, 20.0, 1.0, RW)
    procedure.add_double_aux_argument("style-scale", "Style sc_ale",
                                      "Size of the painting's brush strokes relative to the working size",
                                      0.25, 4.0, 1.0, RW)
    # int, not choice, aux arguments: GIMP 3.0.4's plug-in crashes on choice aux arguments
    procedure.add_int_aux_argument("preserve-colors", "Colo_urs", "; ".join(
        f"{i} = {label}" for i, (_, label) in enumerate(COLOUR_CHOICES)), 0, len(COLOUR_CHOICES) - 1, 0, RW)
    procedure.add_int_aux_argument("detail", "Deta_il", "; ".join(
        f"{i} = {label}" for i, (_, label) in enumerate(DETAIL_CHOICES)), 0, len(DETAIL_CHOICES) - 1, 0, RW)
    procedure.add_int_aux_argument("device", "De_vice", "; ".join(
        f"{i} = {label}" for i, (_, label) in enumerate(DEVICE_CHOICES)), 0, len(DEVICE_CHOICES) - 1, 0, RW)


def _pick(choices, index: int) -> str:
    return choices[index][0] if 0 <= index < len(choices) else choices[0][0]


def read_settings(config) -> dict:
    """The run's settings from the procedure config."""
    style, second = config.get_property("style-file"), config.get_property("second-style-file")
    return {
        "style": style.get_path() if style is not None else None,
        "style_layer": config.get_property("style-layer"),
        "regions": config.get_property("regions") or "none",
        "second": second.get_path() if second is not None else None,
        "preset": config.get_property("preset") or DEFAULT_PRESET,
        "animation": bool(config.get_property("animation")),
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


def area_shapes(image, drawables, whole: bool = False) -> list:
    """What the dialog's cost line plans for: each selected layer's area (cut to the selection,
    unless ``whole``: regions style whole layers), as the run will read it; PluginError (in plain
    words) for what the run would refuse."""
    shapes = []
    selected = not whole and pixels.selection_rect(image) is not None
    for layer in selected_layers(image, drawables):
        rect = pixels.drawable_rect(layer) if whole else pixels.work_rect(image, layer)
        shapes.append({"height": rect.height, "width": rect.width, "selection": selected})
    return shapes


class Progress:
    """GIMP's progress bar (and the progress window, when there is one), one bar over all
    layers: the share of the work done, the step and the time left."""

    def __init__(self, names, window=None) -> None:
        self.names = list(names)
        self.window = window
        self.last = None
        Gimp.progress_init("Neural Style Transfer: starting the engine…")
        if window is not None:
            window.set_text("Starting the style-transfer engine…")

    def __call__(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "ready":
            text = f"Neural Style Transfer on the {event.get('device', 'cpu').upper()}: preparing the painting…"
            Gimp.progress_set_text(text)
            if self.window is not None:
                self.window.set_text(text, flush=False)
            return
        if kind != "progress":
            return
        self.last = event
        index, count = event["job"], event["jobs"]
        step, total = event["step"], max(1, event["total"])
        name = self.names[index] if index < len(self.names) else ""
        which = f" ({index + 1}/{count})" if count > 1 else ""
        remaining = event.get("remaining")
        left = f" — about {messages.format_seconds(remaining)} left" if remaining is not None else ""
        text = f"Styling '{name}'{which}: step {step} of {total}{left}"
        fraction = min(1.0, (index + float(event.get("fraction", step / total))) / count)
        Gimp.progress_set_text(text)
        Gimp.progress_update(fraction)
        trace("progress", text=text, fraction=fraction, step=step, total=total, size=event.get("size"),
              finish=event.get("finish"), remaining=remaining, elapsed=event.get("elapsed"),
              preview=bool(event.get("preview")))
        if self.window is not None:
            self.window.progress(text, fraction, event.get("preview"))


def _run_worker(python, request, progress, window, log) -> None:
    """Run the worker; with a progress window, inside a GLib main loop (so the window and its
    Cancel stay live) with the events handed to this thread, where GIMP may be called."""
    if window is None:
        bridge.run_worker(python, request, progress, log_path=log)
        return
    loop = GLib.MainLoop()
    outcome = {}

    def deliver(event):
        progress(event)
        return False

    def work():
        try:
            bridge.run_worker(python, request, lambda event: GLib.idle_add(deliver, event),
                              window.cancel_requested.is_set, log_path=log)
        except BaseException as error:  # noqa: BLE001 — re-raised on GIMP's thread
            outcome["error"] = error
        GLib.idle_add(loop.quit)

    threading.Thread(target=work, daemon=True).start()
    loop.run()
    if "error" in outcome:
        raise outcome["error"]


def selected_layers(image, drawables) -> list:
    """The layers to style; PluginError (in plain words) for an indexed image, no layer, a channel."""
    pixels.check_image(image)
    layers = list(drawables or [])
    if not layers:
        raise messages.no_layer()
    for drawable in layers:
        if not isinstance(drawable, Gimp.Layer):
            raise messages.not_a_layer(drawable.get_name())
    return layers


def painting_choice(layers, settings: dict):
    """The chosen painting: the layer of 'style-layer' (a Gimp.Layer) when one is set, else the
    style file's path; PluginError (in plain words) when neither can be used."""
    layer = settings.get("style_layer")
    if layer is None:
        return style_path(settings.get("style"))
    if not layer.is_valid():
        raise messages.style_layer_gone()
    if any(target.get_id() == layer.get_id() for target in layers):
        raise messages.style_layer_is_target(layer.get_name())
    return layer


def region_plan(image, layers, settings: dict, painting):
    """The regions of the Regions choice (a regions.Plan), or None for one painting everywhere."""
    main = painting if isinstance(painting, str) else None
    plan = regions.plan(image, settings.get("regions") or "none", main, settings.get("second"), recent_paintings())
    if plan is not None and settings.get("animation") and len(layers) > 1:
        raise messages.regions_not_for_animation()
    return plan


def painting_label(painting, plan) -> str:
    """What the result's name says was used: the painting (file name or layer name), or the
    regions' paintings joined by ' + ', as Krita names them."""
    def stem(path):
        return os.path.splitext(os.path.basename(path))[0]

    main = stem(painting) if isinstance(painting, str) else painting.get_name()
    if plan is None:
        return main
    return " + ".join(main if path is None else stem(path) for path in plan.paintings)


def painting_file(painting, work) -> str:
    """The painting as the worker reads it: the file, or the layer's pixels written to the run's folder."""
    if isinstance(painting, str):
        return painting
    rect = pixels.drawable_rect(painting)
    rgba = pixels.read_rgba(painting, rect) if not rect.empty else b""
    if not rgba or not pixels.any_visible(rgba, None):
        raise messages.empty_style_layer(painting.get_name())
    return work.add_painting(rgba, rect.width, rect.height)


def _prepare(image, layer, plan, work) -> tuple:
    """One layer's area read and written for the worker: (layer, rect, job, fingerprint). With
    regions the area is the whole layer (the selection is one of the regions, as in Krita)."""
    if plan is None:
        rect = pixels.work_rect(image, layer)
    else:
        rect = pixels.drawable_rect(layer)
        if rect.empty:
            raise messages.empty_layer(layer.get_name())
    rgba = pixels.read_rgba(layer, rect)
    mask = pixels.read_selection(image, rect) if plan is None or plan.keep else None
    if not pixels.any_visible(rgba, None):
        raise messages.empty_layer(layer.get_name())
    if mask is not None and not pixels.any_visible(rgba, mask):
        raise messages.selection_misses(layer.get_name())
    job = work.add(rgba, mask, rect.width, rect.height)
    if plan is not None:
        work.add_regions(job, regions.read_masks(image, plan, rect), rect.width, rect.height)
    return layer, rect, job, meanwhile.fingerprint(rgba)


def style_drawables(image, drawables, settings: dict, window=None) -> list:
    """Style each selected layer; returns the new layers (added in one undo group)."""
    layers = selected_layers(image, drawables)
    painting = painting_choice(layers, settings)
    plan = region_plan(image, layers, settings, painting)
    python = bridge.engine_python()
    label = painting_label(painting, plan)
    animation = bool(settings.get("animation")) and len(layers) > 1
    if animation:  # GIMP's convention: the bottom layer is the first frame
        layers.sort(key=image.get_item_position, reverse=True)
    work = bridge.WorkDir()
    try:
        style = painting_file(painting, work)
        prepared = [_prepare(image, layer, plan, work) for layer in layers]
        options = dict(settings.get("options", {}), preview=window is not None)
        request = {"style": style, "preset": settings.get("preset"), "options": options, "animation": animation,
                   "workdir": work.path, "jobs": [job.as_dict() for _, _, job, _ in prepared]}
        if plan is not None:
            request["styles"] = [style if path is None else path for path in plan.paintings]
        progress = Progress((layer.get_name() for layer, _, _, _ in prepared), window)
        log = os.path.join(work.path, "worker.log")
        try:
            _run_worker(python, request, progress, window, log)
        except messages.PluginError as error:
            detail = _last_line(log)
            if "stopped unexpectedly" in str(error) and detail:
                raise messages.engine_crashed(detail) from None
            raise
        results = [(layer, rect, work.result(job, rect.width, rect.height)) for layer, rect, job, _ in prepared]
        for layer, _, _ in results:
            if not layer.is_valid():
                raise messages.layer_gone("?")
        if _ask_again_if_changed(prepared, window):
            return style_drawables(image, drawables, settings, window)
        Gimp.progress_set_text("Neural Style Transfer: adding the result")
        added = _insert(image, results, label, animation)
        Gimp.progress_update(1.0)
        Gimp.displays_flush()
        trace("finished", size=(progress.last or {}).get("size"), names=[layer.get_name() for layer in added])
        return added
    finally:
        work.close()


def _insert(image, results, label: str, animation: bool) -> list:
    """The result layers, in one undo group: each above its source (and its earlier results) —
    or, for an animation, the styled frames in order as one block above its top frame."""
    added = []
    image.undo_group_start()
    try:
        for layer, rect, rgba in results:
            new = pixels.new_layer(image, paintings.result_name(layer.get_name(), label), rect, rgba)
            if animation:
                pixels.insert_above(image, added[-1] if added else results[-1][0], new)
            else:
                source_name = layer.get_name()
                pixels.insert_above(image, layer, new, lambda name: paintings.is_result_of(name, source_name))
            added.append(new)
    finally:
        image.undo_group_end()
    return added


def _ask_again_if_changed(prepared, window) -> bool:
    """A layer painted on during the run (its area no longer holds the bytes read): ask the
    painter whether to style it again; without a window (a script) the result is kept."""
    changed = [layer.get_name() for layer, rect, _, read in prepared
               if meanwhile.fingerprint(pixels.read_rgba(layer, rect)) != read]
    if not changed:
        return False
    text = meanwhile.changed_sentence(changed)
    trace("changed", text=text, names=changed)
    again = window is not None and window.ask(text)
    trace("answer", again=again)
    return again


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
