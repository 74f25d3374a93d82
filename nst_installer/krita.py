"""Finding Krita and the Python it embeds.

The plugin's dependencies must be wheels for *Krita's* Python, which is usually not the
Python running this installer: Linux distributions link Krita against the system
``libpython3.X`` while Windows, macOS and AppImage builds bundle their own. We read the
version from the files Krita ships (library names, DLL names, framework folders) instead
of starting Krita, which needs a display and takes seconds.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from .errors import EXIT_SETUP, InstallError
from .host import FLATPAK_ID, LINUX, MACOS, WINDOWS, Host, location_for

Version = Tuple[int, int]
Runner = Callable[..., "subprocess.CompletedProcess[str]"]

#: ``libpython3.11.so.1.0`` (Linux), ``python3.11`` (framework/stdlib folders), ``python311.dll``.
_VERSION_IN_NAME = re.compile(r"python3\.(\d+)|python3(\d{1,2})\.dll", re.IGNORECASE)
_LIBPYTHON_BYTES = re.compile(rb"libpython3\.(\d+)")
#: ``libQt5Core.so.5`` / ``libQt6Core.so.6`` in a shared object's list of needed libraries
_QTCORE_BYTES = re.compile(rb"libQt([56])Core\.so")
_APPIMAGE_MAGIC = b"AI\x02"
#: Enough of an ELF file to reach its dynamic section's string table in practice.
_SCAN_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class KritaPython:
    """Krita's Python: its version, how to run it outside Krita (if we can), how we know."""

    version: Version
    command: Optional[Tuple[str, ...]]
    source: str

    @property
    def dotted(self) -> str:
        """``3.11`` — the form pip's ``--python-version`` and messages use."""
        return f"{self.version[0]}.{self.version[1]}"


@dataclass(frozen=True)
class KritaInstall:
    """One Krita installation: its kind (native, flatpak, ...), program and Python."""

    variant: str
    program: str
    python: Optional[KritaPython]
    qt: Optional["KritaQt"] = None


@dataclass(frozen=True)
class KritaQt:
    """The Qt a Krita build links: 5 (Krita 5, PyQt5 plugins) or 6 (Krita 6, PyQt6 plugins)."""

    major: int
    source: str

    @property
    def binding(self) -> str:
        """The Python binding Krita's plugins must use there."""
        return f"PyQt{self.major}"

    @property
    def debian_package(self) -> str:
        return f"python3-pyqt{self.major}"


def parse_version(text: str) -> Version:
    """``"3.11"`` -> ``(3, 11)``; a one-line error for anything else."""
    match = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.\d+)?\s*", text)
    if not match:
        raise InstallError(f"'{text}' is not a Python version: write it as 3.11", EXIT_SETUP)
    return int(match.group(1)), int(match.group(2))


def version_from_names(names: Iterable[str]) -> Optional[Version]:
    """The Python version named by a set of file names (highest wins if several)."""
    found = []
    for name in names:
        match = _VERSION_IN_NAME.search(name)
        if match:
            found.append((3, int(match.group(1) or match.group(2))))
    return max(found) if found else None


def version_from_binary(path: PurePath) -> Optional[Version]:
    """The libpython a shared object links against, read from its bytes (no ldd needed)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_SCAN_LIMIT)
    except OSError:
        return None
    match = _LIBPYTHON_BYTES.search(data)
    return (3, int(match.group(1))) if match else None


def _names_in(folders: Iterable[PurePath]) -> List[str]:
    """File names in each existing folder; missing folders are simply skipped."""
    names: List[str] = []
    for folder in folders:
        try:
            names.extend(os.listdir(folder))
        except OSError:
            continue
    return names


def _is_appimage(path: PurePath) -> bool:
    """AppImages carry ``AI\\x02`` at byte 8 of their ELF header; names vary too much."""
    if str(path).lower().endswith(".appimage"):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(11)[8:11] == _APPIMAGE_MAGIC
    except OSError:
        return False


# --- Linux distribution builds -------------------------------------------------------

def _pykrita_libraries(prefix: Path) -> List[Path]:
    """Krita's Python plugin module, which is what links libpython on distro builds."""
    patterns = ("lib*/kritaplugins/kritapykrita.so", "lib*/*/kritaplugins/kritapykrita.so")
    found: List[Path] = []
    for pattern in patterns:
        found.extend(sorted(prefix.glob(pattern)))
    return found


def qt_from_binary(path: PurePath) -> Optional[int]:
    """5 or 6: the libQtNCore a shared object links, read from its bytes (no ldd needed)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_SCAN_LIMIT)
    except OSError:
        return None
    match = _QTCORE_BYTES.search(data)
    return int(match.group(1)) if match else None


def native_qt(binary: Path, run: Runner = subprocess.run) -> Optional[KritaQt]:
    """Which Qt a distribution build of Krita at ``binary`` links (its Python plugin module,
    the binary, libkritaui; then ``ldd``, which follows the binary's libraries)."""
    prefix = Path(os.path.realpath(binary)).parent.parent
    libraries = _pykrita_libraries(prefix) + [Path(binary)]
    for pattern in ("lib*/libkritaui.so*", "lib*/*/libkritaui.so*"):
        libraries.extend(sorted(prefix.glob(pattern))[:1])
    for library in libraries:
        major = qt_from_binary(library)
        if major:
            return KritaQt(major, f"{library} links libQt{major}Core")
    try:
        result = run(["ldd", str(binary)], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"libQt([56])Core", result.stdout or "")
    return KritaQt(int(match.group(1)), f"ldd {binary}: libQt{match.group(1)}Core") if match else None


def _ldd_version(binary: Path, run: Runner) -> Optional[Version]:
    """Ask ldd, for builds where the krita binary itself links libpython."""
    try:
        result = run(["ldd", str(binary)], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"libpython3\.(\d+)", result.stdout or "")
    return (3, int(match.group(1))) if match else None


def _system_python_command(host: Host, prefix: Path, version: Version) -> Optional[Tuple[str, ...]]:
    """The interpreter matching Krita's libpython, for ``--check`` to run."""
    name = f"python{version[0]}.{version[1]}"
    candidate = prefix / "bin" / name
    if candidate.is_file():
        return (str(candidate),)
    found = host.which(name)
    return (found,) if found else None


def _system_python_version(prefix: Path, host: Host, run: Runner) -> Optional[Tuple[Version, str]]:
    """Fallback: distro Krita uses the distro's python3, so ask that one its version."""
    candidate = prefix / "bin" / "python3"
    program = str(candidate) if candidate.is_file() else host.which("python3")
    if not program:
        return None
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        result = run([program, "-c", code], capture_output=True, text=True, timeout=60, check=False)
        return parse_version(result.stdout.strip()), program
    except (OSError, subprocess.SubprocessError, InstallError):
        return None


def native_python(host: Host, binary: Path, run: Runner = subprocess.run) -> Optional[KritaPython]:
    """Krita's Python for a distribution build installed at ``binary``."""
    prefix = Path(os.path.realpath(binary)).parent.parent
    for library in _pykrita_libraries(prefix) + [Path(binary)]:
        version = version_from_binary(library)
        if version:
            command = _system_python_command(host, prefix, version)
            return KritaPython(version, command, f"{library} links libpython{version[0]}.{version[1]}")
    version = _ldd_version(Path(binary), run)
    if version:
        return KritaPython(version, _system_python_command(host, prefix, version), f"ldd {binary}")
    fallback = _system_python_version(prefix, host, run)
    if fallback:
        version, program = fallback
        return KritaPython(version, (program,), f"assumed: distribution builds use the system Python ({program})")
    return None


# --- Flatpak, AppImage ----------------------------------------------------------------

def flatpak_roots(host: Host) -> List[PurePath]:
    """Per-user and system Flatpak installations (overridable like flatpak itself)."""
    system = host.env.get("FLATPAK_SYSTEM_DIR") or "/var/lib/flatpak"
    return [host.env_dir("FLATPAK_USER_DIR", ".local", "share", "flatpak"), host.path(system)]


def flatpak_install(host: Host, root: PurePath) -> Optional[KritaInstall]:
    """The Krita Flatpak under ``root``, whose Python is bundled in the app's files."""
    files = Path(root, "app", FLATPAK_ID, "current", "active", "files")
    if not files.is_dir():
        return None
    version = version_from_names(_names_in([files / "lib", files / "bin"]))
    command = ("flatpak", "run", "--command=python3", FLATPAK_ID) if host.which("flatpak") else None
    python = KritaPython(version, command, f"bundled in {files}") if version else None
    return KritaInstall("flatpak", str(files), python)


def appimage_candidates(host: Host) -> List[Path]:
    """Krita AppImages where people usually keep them (they have no fixed location)."""
    home = str(host.home)
    folders = [Path(home, sub) for sub in ("Applications", "Downloads", "Desktop", "bin", ".local/bin")]
    folders.append(Path(home))
    found = []
    for folder in folders:
        for name in sorted(_names_in([folder])):
            if name.lower().startswith("krita") and name.lower().endswith(".appimage"):
                found.append(folder / name)
    return found


def appimage_python(app: Path, run: Runner = subprocess.run) -> Optional[KritaPython]:
    """Extract just ``usr/lib/libpython3*`` from the AppImage to learn its Python."""
    with tempfile.TemporaryDirectory(prefix="nst-appimage-") as scratch:
        try:
            run([str(app), "--appimage-extract", "usr/lib/libpython3*"], cwd=scratch,
                capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        version = version_from_names(_names_in([Path(scratch, "squashfs-root", "usr", "lib")]))
    return KritaPython(version, None, f"bundled in {app}") if version else None


# --- Windows, macOS -------------------------------------------------------------------

def windows_roots(host: Host) -> List[PurePath]:
    """Where the Krita installer and the Store/portable builds usually land."""
    bases = []
    for key, default in (("ProgramFiles", r"C:\Program Files"), ("ProgramW6432", None)):
        value = host.env.get(key) or default
        if value:
            bases.append(host.path(value))
    bases.append(host.env_dir("LOCALAPPDATA", "AppData", "Local") / "Programs")
    return [base / name for base in bases for name in ("Krita (x64)", "Krita")]


def windows_install(root: PurePath) -> KritaInstall:
    """A Windows Krita folder; its bundled Python is ``python3X.dll`` next to the program."""
    folders = [Path(root, "bin"), Path(root, "python"), Path(root)]
    version = version_from_names(n for n in _names_in(folders) if n.lower().endswith(".dll"))
    command = None
    for folder in folders:
        if (folder / "python.exe").is_file():
            command = (str(folder / "python.exe"),)
            break
    python = KritaPython(version, command, f"python dll in {root}") if version else None
    return KritaInstall("windows", str(Path(root, "bin", "krita.exe")), python)


def macos_install(app: PurePath) -> KritaInstall:
    """A ``krita.app`` bundle; its Python is ``Contents/Frameworks/Python.framework``."""
    versions = Path(app, "Contents", "Frameworks", "Python.framework", "Versions")
    # Folders are named "3.10", "Current": prefix them so the shared name parser reads them.
    version = version_from_names(f"python{name}" for name in _names_in([versions]))
    command = None
    if version:
        binary = versions / f"{version[0]}.{version[1]}" / "bin" / f"python{version[0]}.{version[1]}"
        command = (str(binary),) if binary.is_file() else None
    python = KritaPython(version, command, f"bundled in {app}") if version else None
    return KritaInstall("macos", str(app), python)


# --- putting it together --------------------------------------------------------------

def install_from_program(host: Host, program: str, run: Runner = subprocess.run) -> KritaInstall:
    """Classify a ``--krita-app`` path: a .app bundle, an AppImage, a Windows folder or a binary."""
    path = Path(program).expanduser()
    if not path.exists():
        raise InstallError(f"Krita not found at {path}: check the --krita-app path", EXIT_SETUP)
    if path.suffix.lower() == ".app":
        return macos_install(path)
    if path.is_dir():
        if (path / "bin" / "krita.exe").is_file():
            return windows_install(path)
        raise InstallError(f"Krita not found in {path}: pass the Krita program or its install folder", EXIT_SETUP)
    if path.name.lower() == "krita.exe":
        return windows_install(path.parent.parent)
    if _is_appimage(path):
        return KritaInstall("appimage", str(path), appimage_python(path, run))
    return KritaInstall("native", str(path), native_python(host, path, run), native_qt(path, run))


def linux_installs(host: Host, run: Runner) -> List[KritaInstall]:
    """Krita on PATH (distro or AppImage), Flatpaks, and AppImages in the usual folders."""
    installs: List[KritaInstall] = []
    binary = host.which("krita")
    if binary:
        installs.append(install_from_program(host, binary, run))
    for root in flatpak_roots(host):
        found = flatpak_install(host, root)
        if found:
            installs.append(found)
    seen = {os.path.realpath(i.program) for i in installs}
    for app in appimage_candidates(host):
        if os.path.realpath(app) not in seen:
            installs.append(KritaInstall("appimage", str(app), appimage_python(app, run)))
    return installs


def find_installs(host: Host, krita_app: Optional[str] = None,
                  run: Runner = subprocess.run) -> List[KritaInstall]:
    """Every Krita installation found on ``host`` (just ``krita_app`` when one is named)."""
    if krita_app:
        return [install_from_program(host, krita_app, run)]
    if host.system == LINUX:
        return linux_installs(host, run)
    if host.system == WINDOWS:
        return [windows_install(root) for root in windows_roots(host)
                if Path(root, "bin", "krita.exe").is_file()]
    if host.system == MACOS:
        apps = [host.path("/Applications", "krita.app"), host.path(str(host.home), "Applications", "krita.app")]
        return [macos_install(app) for app in apps if Path(app).is_dir()]
    return []


def choose_install(host: Host, installs: Sequence[KritaInstall]) -> KritaInstall:
    """Prefer a Krita that has been started already (its resource folder exists)."""
    for install in installs:
        if Path(location_for(host, install.variant).resource_dir).is_dir():
            return install
    return installs[0]
