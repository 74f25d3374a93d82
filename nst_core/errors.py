"""Errors a painter may see.

Every problem a user can cause or fix raises an :class:`NSTError` whose message is one
plain sentence naming the problem and the fix, so front ends can show ``str(error)``
as-is instead of a traceback.
"""
from __future__ import annotations


class NSTError(Exception):
    """A problem the user can understand and act on; ``str()`` is the whole message."""


class BadImage(NSTError):
    """An input image cannot be read or has an unusable shape."""


class BadConfig(NSTError):
    """A setting is out of range or names something that does not exist."""


class WeightsNotFound(NSTError):
    """No usable VGG19 weights were found, or a weights file is corrupt."""


class OutOfMemory(NSTError):
    """The device ran out of memory; front ends may offer a smaller size or the CPU."""

    def __init__(self, message: str, device: str):
        super().__init__(message)
        self.device = device


class Cancelled(Exception):
    """Raised when the caller's cancel flag is set; not an error, so not an NSTError."""
