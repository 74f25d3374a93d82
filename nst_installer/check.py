"""``install.py --check``: is the plugin installed, and can Krita's Python run it?

The import test runs in *Krita's* Python (on Linux distro builds, the system
``python3.X`` that Krita links), with ``sys.path`` set up the way Krita sets it up for
the plugin, so "torch imports" here means it will import inside Krita. Every question
is answered on its own line, even when an earlier one failed, so a half-finished
engine or a missing weights package shows up as one clear line.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, TextIO

from . import PLUGIN_NAME, kritarc
from .krita import KritaInstall, KritaPython, KritaQt
from .layout import Layout
from .manifest import Manifest

MARKER = "NST-CHECK "

#: Runs inside Krita's Python (3.9+, stdlib only). argv[1] is JSON with the folders.
PROBE = r'''
import json, sys
# torch imports triton lazily when present; inside Krita it is slow and can crash.
sys.modules["triton"] = None
import os
args = json.loads(sys.argv[1])
report = {"python": "%d.%d.%d" % tuple(sys.version_info[:3]), "executable": sys.executable}
# Krita puts pykrita/ on sys.path, then the plugin's bootstrap adds sys_paths.txt. Use
# the installed bootstrap itself when there is one, so this checks what Krita will do.
sys.path.insert(0, args["pykrita"])
try:
    import importlib.util
    spec = importlib.util.spec_from_file_location("nst_bootstrap", args["bootstrap"])
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)
    bootstrap.install()
    report["bootstrap"] = args["bootstrap"]
except Exception:
    # The contract without the plugin's code: in front of sys.path, except folders
    # holding their own PyQt5/PyQt6, which go last so Krita's own PyQt wins.
    for folder in reversed(args["paths"]):
        if any(os.path.isdir(os.path.join(folder, name)) for name in ("PyQt5", "PyQt6")):
            sys.path.append(folder)
        else:
            sys.path.insert(0, folder)

def attempt(key, action):
    try:
        report[key] = action()
    except BaseException as error:
        text = str(error).strip().splitlines()
        report[key + "_error"] = type(error).__name__ + (": " + text[0] if text else "")

def torch_info():
    import torch
    return {"version": torch.__version__, "cuda": torch.version.cuda, "file": torch.__file__}

def engine():
    import nst_core
    return nst_core.__file__

def device():
    import nst_core
    return nst_core.available_device()

def weights():
    import nst_core
    config_type = getattr(nst_core, "StyleConfig", None)
    try:
        info = nst_core.find_weights(config_type()) if config_type else nst_core.find_weights()
    except TypeError:
        info = nst_core.find_weights()
    return {"source": getattr(info, "source", None), "path": str(info.path)}

def binding():
    import importlib
    return importlib.import_module(args["binding"] + ".QtCore").PYQT_VERSION_STR

if args.get("binding"):
    attempt("binding", binding)
attempt("torch", torch_info)
attempt("nst_core", engine)
if "torch" in report and "nst_core" in report:
    attempt("device", device)
    attempt("weights", weights)
print("NST-CHECK " + json.dumps(report))
'''


@dataclass
class Report:
    """Collects labelled lines; any failed line makes ``--check`` exit non-zero."""

    out: TextIO
    ok: bool = True

    def line(self, label: str, good: bool, text: str) -> None:
        self.ok = self.ok and good
        self.out.write(f"  {label:<15} {'ok' if good else 'PROBLEM'}: {text}\n")

    def note(self, label: str, text: str) -> None:
        self.out.write(f"  {label:<15} {text}\n")


def read_sys_paths(layout: Layout) -> List[str]:
    """The folders the installed plugin will add to ``sys.path``."""
    try:
        text = layout.sys_paths.read_text(encoding="utf-8")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def probe_environment() -> Dict[str, str]:
    """Our environment without variables that would steer Krita's Python elsewhere."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def run_probe(command: Sequence[str], layout: Layout, paths: Sequence[str], timeout: int = 600,
              binding: Optional[str] = None) -> Dict:
    """Import torch and nst_core (and ``binding``'s QtCore) in Krita's Python; returns the probe's report."""
    argument = json.dumps({"pykrita": str(layout.pykrita), "paths": list(paths), "binding": binding,
                           "bootstrap": str(layout.package / "bootstrap.py")})
    try:
        result = subprocess.run([*command, "-c", PROBE, argument], capture_output=True, text=True,
                                errors="replace", timeout=timeout, cwd=str(layout.pykrita),
                                env=probe_environment())
    except (OSError, subprocess.SubprocessError) as error:
        return {"run_error": f"{type(error).__name__}: {error}".splitlines()[0]}
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return {"run_error": f"exit {result.returncode}: {tail}"}


def check_files(report: Report, layout: Layout) -> None:
    """The four installed pieces of the layout contract."""
    wanted = [layout.package, layout.engine, layout.desktop, layout.action]
    missing = [layout.describe(p) for p in wanted if not p.exists()]
    if missing:
        report.line("plugin files", False, f"missing {', '.join(missing)}: run install.py")
    else:
        report.line("plugin files", True, ", ".join(layout.describe(p) for p in wanted))


def check_kritarc(report: Report, path: Path) -> None:
    """Krita loads only plugins enabled in ``[python]``."""
    key = f"enable_{PLUGIN_NAME}"
    try:
        enabled = kritarc.is_enabled(kritarc.decode(path.read_bytes()), key)
    except OSError:
        enabled = False
    text = f"{key}=true in {path}" if enabled else f"{key}=true missing from {path}: run install.py"
    report.line("kritarc", enabled, text)


def check_dependencies(report: Report, manifest: Optional[Manifest], paths: Sequence[str]) -> None:
    """Where the plugin will look for torch & co."""
    mode = manifest.mode if manifest else "unknown"
    absent = [p for p in paths if not os.path.isdir(p)]
    if not paths:
        report.line("dependencies", False, "no dependency folders are listed (sys_paths.txt is missing or empty): "
                                           "run install.py")
        return
    if absent:
        report.line("dependencies", False, f"sys_paths.txt lists missing folders: {', '.join(absent)}: run install.py")
        return
    kind = "linked environment" if mode == "link-env" else "pip folder"
    report.line("dependencies", True, f"{kind} {os.pathsep.join(paths)}")


#: the plugin module that lets one code base run on PyQt5 (Krita 5) and PyQt6 (Krita 6)
QT_SHIM = "qt.py"


def check_qt(report: Report, layout: Layout, qt: Optional[KritaQt], result: Optional[Dict]) -> None:
    """Which Qt Krita links, and whether the plugin can load there: Krita runs Python plugins
    with the PyQt of its own Qt (PyQt6 for Krita 6), which must be importable by its Python."""
    if qt is None:
        return
    krita = "Krita 6" if qt.major == 6 else "Krita 5"
    where = f"Qt {qt.major} ({qt.source}): {krita}"
    if layout.package.exists() and not (layout.package / QT_SHIM).is_file():
        report.line("Krita's Qt", False, f"{where}, but the installed plugin predates Qt {qt.major} support: "
                                         "run install.py again")
        return
    if result is None or "run_error" in result:
        report.note("Krita's Qt", f"{where}; its plugins need {qt.binding}")
        return
    if "binding" in result:
        report.line("Krita's Qt", True, f"{where}; the plugin loads there with {qt.binding} {result['binding']}")
    else:
        report.line("Krita's Qt", False, f"{where}, but Krita's Python cannot import {qt.binding} "
                                         f"({result.get('binding_error')}), so no Python plugin can load: install "
                                         f"it (Debian/Ubuntu: sudo apt install {qt.debian_package})")


def check_python(report: Report, layout: Layout, python: Optional[KritaPython], paths: Sequence[str],
                 qt: Optional[KritaQt] = None) -> None:
    """Import torch and nst_core the way Krita will, and say device and weights (and Krita's Qt)."""
    if python is None:
        report.line("Krita's Python", False, "unknown (Krita not found): pass --krita-app or --python-version")
        check_qt(report, layout, qt, None)
        return
    if not python.command:
        report.note("Krita's Python", f"{python.dotted} ({python.source}); it can only run inside Krita, "
                                      "so start Krita to test the import")
        check_qt(report, layout, qt, None)
        return
    result = run_probe(python.command, layout, paths, binding=qt.binding if qt else None)
    check_qt(report, layout, qt, result)
    if "run_error" in result:
        report.line("Krita's Python", False, f"could not run {' '.join(python.command)}: {result['run_error']}")
        return
    report.note("Krita's Python", f"{result['python']} ({result['executable']}; {python.source})")
    describe_probe(report, result)


def describe_probe(report: Report, result: Dict) -> None:
    """One line per answer from the probe, failures included."""
    if "torch" in result:
        torch = result["torch"]
        flavour = f"CUDA {torch['cuda']} build" if torch.get("cuda") else "CPU/MPS build"
        report.line("torch", True, f"{torch['version']} ({flavour}) from {os.path.dirname(torch['file'])}")
    else:
        report.line("torch", False, f"cannot be imported by Krita's Python: {result.get('torch_error')}")
    if "nst_core" not in result:
        report.line("nst_core", False, f"cannot be imported: {result.get('nst_core_error')}")
        return
    if "torch" not in result:
        return
    if "device" in result:
        report.line("device", True, result["device"])
    else:
        report.line("device", False, f"nst_core could not choose one: {result.get('device_error')}")
    if "weights" in result:
        weights = result["weights"]
        report.line("weights", True, f"{weights.get('source') or 'VGG19'} weights at {weights['path']}")
    else:
        report.line("weights", False, f"not found: {result.get('weights_error')}")


def run_check(layout: Layout, manifest: Optional[Manifest], kritarc_path: Path,
              python: Optional[KritaPython], out: TextIO, install: Optional[KritaInstall] = None) -> int:
    """Print the whole report; 0 when the plugin should work in Krita, else 1."""
    out.write(f"Neural Style in {layout.krita_dir}\n")
    report = Report(out)
    check_files(report, layout)
    check_kritarc(report, kritarc_path)
    paths = read_sys_paths(layout)
    check_dependencies(report, manifest, paths)
    qt = install.qt if install is not None else None
    if layout.package.exists():
        check_python(report, layout, python, paths, qt)
    else:
        check_qt(report, layout, qt, None)
    out.write("Everything is in place: restart Krita to use the plugin.\n" if report.ok
              else "Some parts are missing or broken (see PROBLEM lines above).\n")
    return 0 if report.ok else 1
