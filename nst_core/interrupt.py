"""Cancel inside a step, not only between steps.

One optimisation step at a large working size (or one tile of it, or the style targets
of a big style image) can take a minute on a CPU; checking the cancel flag once a step
let a cancel wait that long. Here every layer of the network checks the caller's flag
before it runs (forward) and again when its gradient is computed (backward), so
:class:`Cancelled` is raised within one layer's work — well under two seconds — at any
size, tiled or not.

The network is cached and shared, so the flag lives in the calling thread's state
(:func:`watching`), and the hooks stay on the network (:func:`attach`, once).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any

from .errors import Cancelled

_STATE = threading.local()


def requested(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


@contextmanager
def watching(cancel: Any):
    """Within the block, the network's layers raise :class:`Cancelled` once ``cancel`` says so."""
    previous = getattr(_STATE, "cancel", None)
    _STATE.cancel = cancel
    try:
        yield
    finally:
        _STATE.cancel = previous


def _check(cancel: Any) -> None:
    if requested(cancel):
        raise Cancelled()


def _before_layer(_module, inputs) -> None:
    cancel = getattr(_STATE, "cancel", None)
    if cancel is None:
        return
    _check(cancel)
    x = inputs[0] if inputs else None
    # backward may run on another thread (CUDA): the hook carries the flag with it. Only
    # non-leaf tensors: a hook on the image itself would stay there and pile up every step.
    if getattr(x, "requires_grad", False) and getattr(x, "grad_fn", None) is not None:
        x.register_hook(lambda grad, cancel=cancel: _check(cancel))


def attach(model) -> None:
    """Put the cancel checks on every layer of ``model`` (idempotent)."""
    if getattr(model, "_nst_cancel_hooks", False):
        return
    layers = getattr(model, "layers", None)
    for layer in (layers if layers is not None else model.children()):
        layer.register_forward_pre_hook(_before_layer)
    model._nst_cancel_hooks = True
