"""One code base for Krita 5 (PyQt5) and Krita 6 (PyQt6), checked without Krita (issue 17).

Krita 6 raises on any ``import PyQt5``, Krita 5.3 on any ``import PyQt6``; PyQt6 knows enum
members only by their scoped names (``Qt.AlignmentFlag.AlignCenter``, not ``Qt.AlignCenter``)
and has no ``exec_()``. So the plugin and the test drivers that run inside Krita import Qt
only through ``plugin/qt.py`` (the binding Krita loaded), write every enum scoped and call
``exec()``. Read from the sources' syntax trees, so it runs anywhere, Qt or not.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIM = REPO / "plugin" / "qt.py"
#: Python that runs inside Krita: the plugin and the test drivers / kritarunner scripts
INSIDE_KRITA = sorted([*(REPO / "plugin").rglob("*.py"), *(REPO / "tests" / "krita").rglob("*.py")])
BINDINGS = ("PyQt5", "PyQt6")
QT_CLASS = re.compile(r"^(Qt|Q[A-Z]\w*)$")
#: Qt 5-only names that PyQt6 has not got
QT5_ONLY_CALLS = {"exec_": "exec()", "byteCount": "sizeInBytes()", "print_": "print()"}


def sources():
    return [(path, ast.parse(path.read_text(encoding="utf-8"), str(path))) for path in INSIDE_KRITA]


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def direct_binding_imports(tree) -> list:
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names = [str(node.args[0].value)]
        found += [(node.lineno, name) for name in names if name.split(".")[0] in BINDINGS]
    return found


def unscoped_enums(tree) -> list:
    """``Qt.AlignCenter`` / ``QImage.Format_RGBA8888``: a capitalised attribute of a Qt class
    that is not itself followed by an attribute (``Qt.AlignmentFlag.AlignCenter`` is)."""
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        if not QT_CLASS.match(node.value.id) or not node.attr[:1].isupper():
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            continue  # Qt.AlignmentFlag.AlignCenter: the enum's scope, then its member
        found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


def qt5_only_calls(tree) -> list:
    return [(node.lineno, f".{node.attr} (use {QT5_ONLY_CALLS[node.attr]})") for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in QT5_ONLY_CALLS]


def test_the_sources_are_found():
    names = {relative(p) for p in INSIDE_KRITA}
    assert {"plugin/qt.py", "plugin/ui/dialog.py", "tests/krita/api_checks.py",
            "tests/krita/nst_driver_harness.py", "tests/krita/dialog_gui_driver/nst_dialog_driver/__init__.py"} <= names


def test_only_the_shim_imports_a_binding():
    offenders = [f"{relative(path)}:{line} imports {name}" for path, tree in sources() if path != SHIM
                 for line, name in direct_binding_imports(tree)]
    assert offenders == [], "import Qt through plugin/qt.py (neural_style.qt):\n" + "\n".join(offenders)


def test_every_enum_is_written_scoped():
    offenders = [f"{relative(path)}:{line} {name}" for path, tree in sources() for line, name in unscoped_enums(tree)]
    assert offenders == [], "PyQt6 knows these only by their scoped names:\n" + "\n".join(offenders)


def test_no_qt5_only_calls():
    offenders = [f"{relative(path)}:{line} {name}" for path, tree in sources() for line, name in qt5_only_calls(tree)]
    assert offenders == [], "\n".join(offenders)


def test_the_checker_catches_what_it_should():
    tree = ast.parse("from PyQt5.QtCore import Qt\nimport PyQt6.QtGui\n"
                     "a = Qt.AlignCenter\nb = Qt.AlignmentFlag.AlignCenter\nc = QImage.Format_RGB888\n"
                     "d = QImage.Format.Format_RGB888\ne = QtCore.Qt\nf = QFileDialog.getOpenFileName\n"
                     "g = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.Cancel\nloop.exec_()\n")
    assert [name for _, name in direct_binding_imports(tree)] == ["PyQt5.QtCore", "PyQt6.QtGui"]
    assert [name for _, name in unscoped_enums(tree)] == ["Qt.AlignCenter", "QImage.Format_RGB888",
                                                          "QDialogButtonBox.Cancel"]
    assert [name for _, name in qt5_only_calls(tree)] == [".exec_ (use exec())"]


def test_the_shim_uses_the_binding_krita_loaded():
    # only the two choosing functions, without importing any Qt here
    source = SHIM.read_text(encoding="utf-8")
    namespace = {}
    exec(compile(source.split("BINDING = choose_binding()")[0], str(SHIM), "exec"), namespace)
    loaded, choose = namespace["loaded_binding"], namespace["choose_binding"]
    marker = object()
    assert loaded({"PyQt6.QtCore": marker, "PyQt6": marker}) == "PyQt6"  # Krita 6
    assert loaded({"PyQt5.QtCore": marker, "PyQt5": marker}) == "PyQt5"  # Krita 5
    assert loaded({"PyQt5": None, "PyQt6.QtCore": marker}) == "PyQt6"  # a blocked import leaves None
    assert loaded({}) is None
    # in Krita 5 with PyQt6 installed too: PyQt5, never PyQt6 first
    assert choose({"PyQt5.QtCore": marker}, importable=lambda name: True) == "PyQt5"
    assert choose({}, importable=lambda name: True) == "PyQt5"
    assert choose({}, importable=lambda name: name == "PyQt6") == "PyQt6"
    with pytest.raises(ImportError):
        choose({}, importable=lambda name: False)


def scoped_names(tree) -> set:
    """``Qt.AlignmentFlag.AlignCenter`` chains, for checking against a real PyQt5."""
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and QT_CLASS.match(node.value.value.id)
                and node.value.attr[:1].isupper()):
            names.add((node.value.value.id, node.value.attr, node.attr))
    return names


CHROOT_6 = REPO / ".krita" / "6.0" / "root"  # Krita 6's chroot (scripts/setup-krita.sh 6.0), with PyQt6


@pytest.mark.parametrize("binding", ["PyQt5", "PyQt6"])
def test_scoped_names_exist_in_the_binding(binding):
    """Every scoped enum name resolves in PyQt5 5.15 (Debian 12's, the oldest Krita tested) and in
    PyQt6 (Krita 6's, in its test chroot): a misspelt scope would only fail inside Krita."""
    if binding == "PyQt5":
        command = ["/usr/bin/python3"]
        present = Path(command[0]).is_file()
    else:
        command = [shutil.which("chroot") or "/usr/sbin/chroot", str(CHROOT_6), "/usr/bin/python3"]
        present = (CHROOT_6 / "usr/bin/python3").is_file() and os.geteuid() == 0
    probe = f"import {binding}.QtCore, {binding}.QtGui, {binding}.QtWidgets"
    if not present or subprocess.run([*command, "-c", probe], capture_output=True).returncode:
        pytest.skip(f"no {binding} here to resolve names in")
    names = sorted(set().union(*(scoped_names(tree) for _, tree in sources())))
    script = (f"import sys, json\nfrom {binding} import QtCore, QtGui, QtWidgets\n"
              "mods = (QtCore, QtGui, QtWidgets)\nbad = []\n"
              "for cls, scope, member in json.loads(sys.argv[1]):\n"
              "    owner = next((getattr(m, cls) for m in mods if hasattr(m, cls)), None)\n"
              "    if owner is None: continue  # not a Qt class (e.g. a Krita one)\n"
              "    try: getattr(getattr(owner, scope), member)\n"
              "    except AttributeError: bad.append('.'.join((cls, scope, member)))\n"
              "print(json.dumps(bad))\n")
    import json

    result = subprocess.run([*command, "-c", script, json.dumps(names)], capture_output=True, text=True,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert len(names) > 20
