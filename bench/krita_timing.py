"""Runs inside ``kritarunner`` for ``python -m bench --canvas``: one timed run of the plugin's
scripting API on a photo layer, written as JSON.

Usage: ``kritarunner -s krita_timing OUT.json PHOTO PAINTING MODE OPTIONS_JSON``. MODE
"plugin" runs the plugin as shipped (its thread count for Krita, plugin/threads.py);
"untuned" first puts torch back to its default thread count, as the plugin ran before.
"""
import json
import sys
import time


def __main__(args):
    out, photo, painting, mode, options = args[0], args[1], args[2], args[3], json.loads(args[4])
    from krita import Krita

    from neural_style import engine_bridge
    from neural_style.api import stylize_layers

    engine_bridge.load()  # import torch and tune threads before the clock starts, as a warm plugin is
    import torch

    if mode == "untuned":
        import os

        from neural_style import threads

        threads.tune = lambda: torch.get_num_threads()  # every later engine load keeps torch's default
        torch.set_num_threads(os.cpu_count() or 1)
    app = Krita.instance()
    doc = app.openDocument(photo)
    doc.waitForDone()
    layer = [n for n in doc.rootNode().childNodes() if n.type() == "paintlayer"][0]
    started = time.perf_counter()
    stylize_layers(doc, [layer], painting, **options)
    seconds = time.perf_counter() - started
    from neural_style import threads

    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"seconds": seconds, "threads": torch.get_num_threads(), "spins": threads.openmp_spins()}, handle)
    doc.close()
    sys.stdout.flush()
