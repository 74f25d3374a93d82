"""The plugin's way to the engine's torch side (``nst_core``): find it, load it, configure a run.

Other plugin modules use only nst_core's torch-free parts (limits, schedule, costline,
meanwhile) directly.

Importing torch takes seconds, so nothing here runs at Krita's start: the dialog asks
:func:`missing_dependency` (cheap, imports nothing) and the worker calls :func:`load`.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Optional

from . import bootstrap, errors, settings, threads

#: plugin-level options understood by :func:`build_config` besides StyleConfig's own fields
PLUGIN_OPTIONS = ("style_strength", "detail")
#: options whose range is declared in plugin/settings.py (the dialog's, the saved settings' and the API's)
RANGED = tuple(name for name, setting in settings.SETTINGS.items() if setting.range is not None)


def missing_dependency() -> Optional[errors.EngineMissing]:
    """The error to show if numpy, torch or nst_core cannot be found (imports nothing)."""
    bootstrap.install()
    for module in ("numpy", "torch", "nst_core"):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return errors.engine_missing(module)
    return None


def load():
    """Import and return ``nst_core``; raises :class:`errors.EngineMissing` in plain words."""
    bootstrap.install()
    threads.note_openmp()  # before torch: how Krita started its OpenMP runtime (plugin/threads.py)
    try:
        importlib.import_module("nst_core.engine")  # the package itself is lazy: load numpy and torch now
        threads.tune()  # as fast as the command line inside Krita (plugin/threads.py)
        return importlib.import_module("nst_core")
    except ImportError as error:
        missing = getattr(error, "name", None) or "nst_core"
        root = missing.split(".")[0]
        raise errors.engine_missing(root if root in ("numpy", "torch") else "nst_core", str(error)) from error
    except Exception as error:  # a broken install: say so instead of crashing
        raise errors.engine_missing("nst_core", f"{type(error).__name__}: {error}") from error


def build_config(nst_core, preset: str = settings.DEFAULT_PRESET, **options: Any):
    """A ``StyleConfig`` from a preset plus options.

    Options are ``StyleConfig`` fields (``steps``, ``size``, ``style_scale``,
    ``preserve_colors``, ``seed``, ``device``, …) plus ``style_strength``, a multiplier
    of the preset's style weight, and ``detail``: "layer" (the default) finishes at the
    layer's own size, "working" at the working size, scaled to the layer. ``None`` / ``0`` for ``steps`` and ``size`` mean "the
    preset's value"; ``preserve_colors="none"`` means off. Numbers outside the ranges
    declared in ``plugin/settings.py`` are refused with ``BadConfig`` in plain words.
    """
    options = dict(options)
    detail = options.pop("detail", settings.SETTINGS["detail"].default)
    if detail not in settings.SETTINGS["detail"].keys():
        raise nst_core.BadConfig(settings.problem("detail", detail))
    if detail == "layer" and not options.get("finish_size"):
        from nst_core.config import FINISH_AT_CONTENT

        options["finish_size"] = FINISH_AT_CONTENT  # coarse-to-fine up to the layer's own size
    for name in RANGED:
        message = settings.problem(name, options.get(name))
        if message is not None:
            raise nst_core.BadConfig(message)
    raw_strength = options.pop("style_strength", None)
    if raw_strength is None:
        raw_strength = settings.SETTINGS["style_strength"].default
    try:
        strength = float(raw_strength)
    except (TypeError, ValueError):
        raise nst_core.BadConfig(f"Style strength {raw_strength!r} is not a number: use {settings.SETTINGS['style_strength'].range_text()}, e.g. 1.") from None
    if strength != strength or strength in (float("inf"), float("-inf")):
        raise nst_core.BadConfig(f"Style strength {raw_strength!r} is not a finite number: use {settings.SETTINGS['style_strength'].range_text()}, e.g. 1.")
    for key in ("steps", "size"):
        if isinstance(options.get(key), (type(None), int, float, str)) and options.get(key) in (None, 0, "", "preset"):
            options.pop(key, None)
    if options.get("preserve_colors") in ("", "none", "off", False):
        options["preserve_colors"] = None
    config = nst_core.StyleConfig.from_preset(preset, **options)
    if strength != 1.0:
        config.style_weight = config.style_weight * strength
    return config
