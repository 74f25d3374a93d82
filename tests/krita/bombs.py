"""Real, valid "image bomb" PNGs: tiny files that decode to gigabytes.

Standard library only (it is imported by pytest and inside Krita). The pixel rows are
streamed through zlib, so making a 20000×20000 file needs a few MB of memory and about a
second, and the file is a complete, correct PNG any decoder would fully decode.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(path, width: int, height: int, channels: int = 3) -> Path:
    """A ``width`` × ``height`` mid-grey PNG (8-bit RGB, or RGBA with ``channels=4``)."""
    path = Path(path)
    if path.is_file():
        return path
    colour_type = {1: 0, 3: 2, 4: 6}[channels]
    row = b"\x00" + bytes([128] * (width * channels))
    compressor = zlib.compressobj(6)
    parts = []
    rows_per_block = max(1, (4 << 20) // len(row))
    block = row * rows_per_block
    done = 0
    while done < height:
        count = min(rows_per_block, height - done)
        parts.append(compressor.compress(block if count == rows_per_block else row * count))
        done += count
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header))
        handle.write(_chunk(b"IDAT", b"".join(parts)))
        handle.write(_chunk(b"IEND", b""))
    tmp.replace(path)
    return path
