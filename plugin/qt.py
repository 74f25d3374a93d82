"""The one place the plugin gets Qt from: the binding Krita itself loaded.

Krita 5 embeds PyQt5 and Krita 6 PyQt6, and each refuses the other: Krita 6's
``krita/__init__.py`` replaces ``__import__`` and raises on any ``PyQt5`` import, Krita 5.3
does the same for ``PyQt6``. Where both are installed, importing the wrong one would load a
second Qt into Krita. So the binding is the one already in ``sys.modules`` (Krita imports
it before any plugin), and only outside Krita (unit tests, tools) is one imported, PyQt5
first. Every plugin module imports Qt from here::

    from .qt import QtCore, QtGui, QtWidgets, Qt, pyqtSignal

Code that works with both: enums by their full scoped names (``Qt.AlignmentFlag.AlignCenter``,
``QImage.Format.Format_RGBA8888``; PyQt5 5.15 accepts them too), ``exec()`` not ``exec_()``,
:data:`QAction` from here (QtWidgets in Qt 5, QtGui in Qt 6), ``QImage.sizeInBytes()``.
"""
from __future__ import annotations

import importlib
import sys

BINDINGS = ("PyQt6", "PyQt5")  #: what Krita 6 and Krita 5 load


def loaded_binding(modules=None):
    """The binding Krita already imported ("PyQt6" or "PyQt5"), or None outside Krita."""
    modules = sys.modules if modules is None else modules
    for name in BINDINGS:
        if modules.get(f"{name}.QtCore") is not None:
            return name
    for name in BINDINGS:
        if modules.get(name) is not None:
            return name
    return None


def choose_binding(modules=None, importable=None):
    """The binding to use: the loaded one; else (outside Krita) the first importable, PyQt5 first."""
    loaded = loaded_binding(modules)
    if loaded is not None:
        return loaded
    if importable is None:
        import importlib.util

        def importable(name):
            try:
                return importlib.util.find_spec(name) is not None
            except (ImportError, ValueError):
                return False
    for name in reversed(BINDINGS):  # PyQt5 first: never bring Qt 6 into a Qt 5 process
        if importable(name):
            return name
    raise ImportError("neither PyQt5 nor PyQt6 is available: Krita's Python has no Qt binding")


BINDING = choose_binding()
QT6 = BINDING == "PyQt6"
QtCore = importlib.import_module(f"{BINDING}.QtCore")
QtGui = importlib.import_module(f"{BINDING}.QtGui")
QtWidgets = importlib.import_module(f"{BINDING}.QtWidgets")

Qt = QtCore.Qt
pyqtSignal = QtCore.pyqtSignal
QAction = QtGui.QAction if QT6 else QtWidgets.QAction

__all__ = ["BINDING", "QT6", "QtCore", "QtGui", "QtWidgets", "Qt", "pyqtSignal", "QAction"]
