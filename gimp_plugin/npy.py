"""Reading and writing float32 ``.npy`` files with the standard library only.

GIMP's Python may lack numpy (GIMP on Windows and macOS bundles its own Python), so the
GIMP side of the plug-in speaks the ``.npy`` format (version 1.0, little-endian float32,
C order) by hand; the worker reads and writes the same files with numpy.
"""
from __future__ import annotations

import ast
import struct
from typing import Tuple

MAGIC = b"\x93NUMPY"
DESCR = "<f4"


def header(shape: Tuple[int, ...]) -> bytes:
    """The .npy 1.0 header for a C-ordered little-endian float32 array of ``shape``."""
    dims = "".join(f"{n}, " for n in shape) if len(shape) == 1 else ", ".join(str(n) for n in shape)
    text = f"{{'descr': '{DESCR}', 'fortran_order': False, 'shape': ({dims}), }}"
    size = len(MAGIC) + 4 + len(text) + 1
    text += " " * ((64 - size % 64) % 64) + "\n"
    return MAGIC + b"\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def write(path: str, data: bytes, shape: Tuple[int, ...]) -> None:
    """Write raw float32 ``data`` (native order, which is little-endian on GIMP's platforms)."""
    count = 1
    for n in shape:
        count *= n
    if len(data) != 4 * count:
        raise ValueError(f"{len(data)} bytes do not hold a float32 array of shape {shape}")
    with open(path, "wb") as handle:
        handle.write(header(shape))
        handle.write(data)


def read(path: str) -> Tuple[bytes, Tuple[int, ...]]:
    """The raw float32 bytes and the shape of a C-ordered ``<f4`` .npy file."""
    with open(path, "rb") as handle:
        if handle.read(6) != MAGIC:
            raise ValueError(f"{path} is not a .npy file")
        major = handle.read(2)[0]
        length = struct.unpack("<H" if major == 1 else "<I", handle.read(2 if major == 1 else 4))[0]
        meta = ast.literal_eval(handle.read(length).decode("latin1"))
        if meta.get("descr") != DESCR or meta.get("fortran_order"):
            raise ValueError(f"{path} does not hold C-ordered little-endian float32 values")
        shape = tuple(int(n) for n in meta["shape"])
        data = handle.read()
    count = 1
    for n in shape:
        count *= n
    if len(data) != 4 * count:
        raise ValueError(f"{path} is truncated")
    return data, shape
