"""The source was painted on while it was being styled: how both editors notice, and what they say.

A layer is read once, when the run starts; a stroke painted on it meanwhile is not in the
result, and the new layer on top would hide it without a word (issue 21, finding 2). Each
editor keeps a fingerprint of the bytes it read, compares it with the layer's bytes when the
run is over and, if they differ, lets the painter keep the result or style the layer again.
Torch-free and Qt-free: the editors call it on their GUI side.
"""
from __future__ import annotations

import hashlib

KEEP = "Keep this result"
AGAIN = "Style again"
TITLE = "The layer changed during the run"


def fingerprint(data) -> str:
    """A short digest of a layer's raw pixel bytes (bytes-like)."""
    return hashlib.blake2b(bytes(data), digest_size=16).hexdigest()


def changed_sentence(names: list) -> str:
    """What the painter reads when ``names`` (the layers' names) changed during the run."""
    quoted = ", ".join(f"“{name}”" for name in names)
    which = "was" if len(names) == 1 else "were"
    return (f"{quoted} {which} painted on while being styled, so the result shows "
            f"{'it' if len(names) == 1 else 'them'} as at the start of the run, without the new strokes. "
            f"{KEEP}, or {AGAIN.lower()} to include them.")
