"""Make the engine's dependencies importable inside Krita, safely.

Runs first, from ``neural_style/__init__.py``, before anything imports torch:

* ``sys_paths.txt`` (written by ``install.py`` beside this file) lists one directory per
  line: a ``pip --target`` folder or a linked virtual environment's site-packages. Each
  existing directory is put in front of ``sys.path`` so its numpy/torch win over older
  system copies — except a directory that holds its own PyQt5 or PyQt6, which goes to the
  end: Krita's own binding (PyQt5 in Krita 5, PyQt6 in Krita 6) must always be the one imported.
* ``triton`` is blocked (``sys.modules["triton"] = None``): a CUDA build of torch imports
  it lazily on the first optimiser step, and importing it inside Krita's GUI crashes
  Krita. Blocked, torch sees "triton is not installed" and carries on without it.
"""
from __future__ import annotations

import os
import sys

PATHS_FILE = "sys_paths.txt"
BLOCKED_MODULES = ("triton",)


def package_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def read_paths_file(path: str) -> list:
    """Directories listed in ``path`` (blank lines and ``#`` comments ignored)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


PYQT_PACKAGES = ("PyQt5", "PyQt6")


def has_own_pyqt(directory: str) -> bool:
    return any(os.path.isdir(os.path.join(directory, name)) for name in PYQT_PACKAGES)


def extend_sys_path(directories, path_list=None) -> list:
    """Add ``directories`` to ``path_list`` (default ``sys.path``); returns those added."""
    path_list = sys.path if path_list is None else path_list
    added = []
    front = []
    for directory in directories:
        directory = os.path.abspath(os.path.expanduser(directory))
        if not os.path.isdir(directory) or directory in path_list or directory in added:
            continue
        if has_own_pyqt(directory):
            path_list.append(directory)  # never ahead of Krita's own PyQt
        else:
            front.append(directory)
        added.append(directory)
    path_list[0:0] = front
    return added


def block_modules(names=BLOCKED_MODULES) -> None:
    """Make ``import name`` fail cleanly (ImportError) unless it is already imported."""
    for name in names:
        sys.modules.setdefault(name, None)


_done = False


def install() -> None:
    """Idempotent: block triton, then add the directories of ``sys_paths.txt``."""
    global _done
    block_modules()
    if _done:
        return
    _done = True
    extend_sys_path(read_paths_file(os.path.join(package_dir(), PATHS_FILE)))
