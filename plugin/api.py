"""Scripting entry point: style layers synchronously, without any dialog.

From Krita's Scripter or a ``kritarunner`` script::

    from neural_style.api import stylize_layers
    doc = Krita.instance().activeDocument()
    new_layers = stylize_layers(doc, doc.activeNode(), "/path/to/style.jpg", preset="fast", steps=20, size=256)

``preset`` defaults to ``nst_core.config.DEFAULT_PRESET`` (balanced), as in the dialog and the CLI.
``style`` is an image path or a node of the document. Options are ``nst_core.StyleConfig``
fields (``steps``, ``size``, ``style_scale``, ``preserve_colors``, ``seed``, ``device``, …)
plus ``style_strength`` (multiplies the preset's style weight) and ``detail`` ("layer", the
default: finished at the layer's own size, sharp at 100 %; "working": at the working size,
scaled to the layer). ``style_strength``, ``steps``,
``size``, ``style_scale`` and ``seed`` have the dialog's ranges (``plugin/settings.py``:
strength 0.1–10, size 0 or 16–8192 px, …); a value outside is refused in plain words. Keyword-only extras:
``use_selection`` (default True: only the selected area keeps the style), ``progress`` and
``cancel`` (passed to ``nst_core.stylize`` for every layer).

Regions (several paintings in one layer): ``style`` a list of paintings and ``masks`` one
mask per painting — a node (a selection/transparency mask's selection, any other layer's
alpha), a ``Selection``, an array (stretched over the layer), or None for the painting that
paints the rest (with every painting masked the rest keeps the photo's look)::

    stylize_layers(doc, [photo], ["/art/sky.jpg", "/art/town.jpg"], masks=[doc.selection(), None])

With masks the selection does not limit the area (it can be one of the masks); each node
still gets one result layer and one undo step.

Animation: ``frames="all"`` styles every keyframe of each (animated) node in the animation's
range as one coherent clip, into one new animated layer at the top of the stack with a keyframe
at each of the source's times (one undo step each, "Import animation"; plugin/animation.py). It
needs Krita's window (the Scripter), since Krita's frame importer crashes without one::

    stylize_layers(doc, doc.activeNode(), "/art/starry_night.jpg", frames="all")

Each result is a new paint layer directly above its source (one undo step each); the list
of new nodes is returned in the order of ``nodes``. Problems raise
``neural_style.errors.PluginError`` or ``nst_core.NSTError`` with a plain-words message,
before anything in the document changes.
"""
from __future__ import annotations

import sys

from . import bootstrap

bootstrap.install()

from . import engine_bridge, errors, settings  # noqa: E402  (jobs needs numpy: imported after the engine check)


def stylize_layers(document=None, nodes=None, style=None, preset: str = settings.DEFAULT_PRESET, *,
                   use_selection: bool = True, progress=None, cancel=None, masks=None, frames=None, **options) -> list:
    """Style ``nodes`` of ``document`` with ``style`` and insert one result layer per node.

    Raises only ``nst_core.NSTError`` / ``neural_style.errors.PluginError`` (one plain
    sentence) or ``nst_core.Cancelled``; anything unforeseen becomes an
    ``errors.Unexpected`` with the same kind of sentence, and the document is unchanged.
    """
    nst_core = None
    try:
        return _stylize_layers(document, nodes, style, preset, use_selection, progress, cancel, options, masks, frames)
    except errors.PluginError:
        raise
    except MemoryError:
        raise errors.Unexpected(errors.out_of_memory("cpu")) from None
    except Exception as error:
        nst_core = sys.modules.get("nst_core")
        if nst_core is not None and isinstance(error, (nst_core.NSTError, nst_core.Cancelled)):
            raise
        raise errors.Unexpected(errors.unexpected(error)) from error


def _stylize_layers(document, nodes, style, preset, use_selection, progress, cancel, options, masks=None, frames=None) -> list:
    if document is None:
        from krita import Krita

        document = Krita.instance().activeDocument()
    if document is None:
        raise errors.no_document()
    if not (hasattr(document, "rootNode") and hasattr(document, "waitForDone")):
        raise errors.not_a_document(document)
    nst_core = engine_bridge.load()  # a plain-words EngineMissing if numpy/torch/nst_core are absent
    from . import jobs

    if nodes is None:
        nodes = jobs.target_nodes(document, "active")
    elif not isinstance(nodes, (list, tuple)):
        nodes = [nodes]
    if not nodes:
        raise errors.no_layer()
    if not isinstance(preset, str) or preset not in nst_core.PRESETS:
        raise nst_core.BadConfig(f"Unknown preset {preset!r}: use one of {', '.join(nst_core.PRESETS)}.")

    options.setdefault("preview_every", 0)
    config = engine_bridge.build_config(nst_core, preset, **options)
    for node in nodes:  # every node checked before anything is read or run
        jobs.check_node(document, node)
    if masks is not None:  # several paintings, each in its region
        from . import regions

        regions.check_count(nst_core, style, masks)
        style_source, use_selection = regions.combined_style(document, style), False
    else:
        style_source = jobs.resolve_style(document, style)
    document.waitForDone()
    if frames is not None:
        return _stylize_animations(nst_core, document, nodes, style_source, config, use_selection, progress, cancel,
                                   masks, frames)
    prepared = [jobs.prepare(document, node, style_source.label, use_selection) for node in nodes]
    if masks is not None:
        regions.attach(document, prepared, list(masks))
    results = [jobs.style_job(nst_core, job, style_source, config, progress, cancel) for job in prepared]
    new_nodes = [jobs.insert_result(job, data) for job, data in zip(prepared, results)]
    document.waitForDone()
    return new_nodes


def _stylize_animations(nst_core, document, nodes, style_source, config, use_selection, progress, cancel, masks,
                        frames) -> list:
    """``frames="all"``: every keyframe of each node as one animation (plugin/animation.py)."""
    from . import animation

    if frames != "all":
        raise nst_core.BadConfig(f"frames={frames!r} is not understood: use frames=\"all\" (every keyframe) or leave it out.")
    if masks is not None:
        raise errors.PluginError("Regions style one picture: leave masks out to style every keyframe.")
    prepared = [animation.prepare(document, node, style_source.label, use_selection) for node in nodes]
    try:
        results = [animation.style(nst_core, job, style_source, config, progress, cancel) for job in prepared]
        new_nodes = [animation.insert(job, paths) for job, paths in zip(prepared, results)]
    finally:
        for job in prepared:
            animation.discard(job)
    document.waitForDone()
    return new_nodes
