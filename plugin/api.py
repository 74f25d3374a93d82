"""Scripting entry point: style layers synchronously, without any dialog.

From Krita's Scripter or a ``kritarunner`` script::

    from neural_style.api import stylize_layers
    doc = Krita.instance().activeDocument()
    new_layers = stylize_layers(doc, doc.activeNode(), "/path/to/style.jpg", preset="fast", steps=20, size=256)

``style`` is an image path or a node of the document. Options are ``nst_core.StyleConfig``
fields (``steps``, ``size``, ``style_scale``, ``preserve_colors``, ``seed``, ``device``, …)
plus ``style_strength`` (multiplies the preset's style weight). Keyword-only extras:
``use_selection`` (default True: only the selected area keeps the style), ``progress`` and
``cancel`` (passed to ``nst_core.stylize`` for every layer).

Each result is a new paint layer directly above its source (one undo step each); the list
of new nodes is returned in the order of ``nodes``. Problems raise
``neural_style.errors.PluginError`` or ``nst_core.NSTError`` with a plain-words message,
before anything in the document changes.
"""
from __future__ import annotations

from . import bootstrap

bootstrap.install()

from . import engine_bridge, errors  # noqa: E402  (jobs needs numpy: imported after the engine check)


def stylize_layers(document=None, nodes=None, style=None, preset: str = "fast", *,
                   use_selection: bool = True, progress=None, cancel=None, **options) -> list:
    """Style ``nodes`` of ``document`` with ``style`` and insert one result layer per node."""
    if document is None:
        from krita import Krita

        document = Krita.instance().activeDocument()
    if document is None:
        raise errors.no_document()
    nst_core = engine_bridge.load()  # a plain-words EngineMissing if numpy/torch/nst_core are absent
    from . import jobs

    if nodes is None:
        nodes = jobs.target_nodes(document, "active")
    elif not isinstance(nodes, (list, tuple)):
        nodes = [nodes]
    if not nodes:
        raise errors.no_layer()

    options.setdefault("preview_every", 0)
    config = engine_bridge.build_config(nst_core, preset, **options)
    style_source = jobs.resolve_style(document, style)
    document.waitForDone()
    prepared = [jobs.prepare(document, node, style_source.label, use_selection) for node in nodes]
    results = [jobs.style_job(nst_core, job, style_source, config, progress, cancel) for job in prepared]
    new_nodes = [jobs.insert_result(job, data) for job, data in zip(prepared, results)]
    document.waitForDone()
    return new_nodes
