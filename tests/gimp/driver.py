"""Helpers for the GIMP batch scripts of tests/test_gimp.py (runs inside GIMP's Python).

Each test writes a script that does ``exec(open(driver.py).read())`` and then uses these
functions; results go to ``OUT`` (a JSON file) and .npy files beside it, which pytest reads.
"""
import hashlib
import json
import os

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402
import numpy as np  # noqa: E402

PDB = Gimp.get_pdb()
PROCEDURE = "plug-in-neural-style-transfer"


def load(path, width=None):
    """An image from a file, optionally scaled to ``width`` px."""
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
    if width:
        image.scale(width, max(1, round(width * image.get_height() / image.get_width())))
    return image


def shown(image):
    """``image`` in an image window of the GUI, drawn (the GUI tests' painter sees it)."""
    display = Gimp.Display.new(image)
    Gimp.displays_flush()
    return display


def call(image, drawables, style, run_mode=Gimp.RunMode.NONINTERACTIVE, **args):
    """Run the procedure; returns (status name, error message)."""
    proc = PDB.lookup_procedure(PROCEDURE)
    config = proc.create_config()
    config.set_property("run-mode", run_mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", list(drawables))
    if style is not None:
        config.set_property("style-file", Gio.File.new_for_path(style))
    for key, value in args.items():
        config.set_property(key.replace("_", "-"), value)
    result = proc.run(config)
    status = result.index(0)
    return status.value_nick, ("" if status == Gimp.PDBStatusType.SUCCESS else PDB.get_last_error())


def native_hash(drawable):
    """sha256 of the drawable's pixels as linear float RGBA/YA — a lossless, one-to-one view of
    every storage format (8/16-bit integers, half/single floats), so equal hashes mean
    byte-identical pixels."""
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    fmt = "YA float" if drawable.is_gray() else "RGBA float"
    data = drawable.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE)
    return hashlib.sha256(bytes(data)).hexdigest()


def rgba(drawable):
    """H×W×4 float32 sRGB-encoded pixels of the whole drawable."""
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    data = drawable.get_buffer().get(rect, 1.0, "R'G'B'A float", Gegl.AbyssPolicy.NONE)
    return np.frombuffer(bytes(data), dtype=np.float32).reshape(drawable.get_height(), drawable.get_width(), 4)


def selection(image):
    """H×W float32 selection strength over the whole image."""
    sel = image.get_selection()
    rect = Gegl.Rectangle.new(0, 0, image.get_width(), image.get_height())
    data = sel.get_buffer().get(rect, 1.0, "Y float", Gegl.AbyssPolicy.NONE)
    return np.frombuffer(bytes(data), dtype=np.float32).reshape(image.get_height(), image.get_width())


def describe(layer):
    _, x, y = layer.get_offsets()
    return {"name": layer.get_name(), "x": x, "y": y, "width": layer.get_width(), "height": layer.get_height(),
            "gray": layer.is_gray(), "hash": native_hash(layer)}


def tree(image):
    return [describe(layer) for layer in image.get_layers()]


def save(name, array):
    np.save(os.path.join(os.path.dirname(OUT), name), np.asarray(array))  # noqa: F821 — OUT set by the test


def finish(data):
    with open(OUT, "w") as handle:  # noqa: F821
        json.dump(data, handle)
