"""The machine Krita runs on, as plain data, and where Krita keeps its files there.

Everything platform-specific is read from a :class:`Host` value rather than from
``sys.platform`` and ``os.environ`` directly, so the tests can ask "where would this be
on Windows?" on a Linux box by building a Host by hand.
"""
from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import List, Mapping, Optional, Tuple

LINUX, WINDOWS, MACOS = "linux", "windows", "darwin"

FLATPAK_ID = "org.kde.krita"


def _running_system() -> str:
    """``linux``, ``windows`` or ``darwin`` for the Python running the installer."""
    if sys.platform.startswith("win"):
        return WINDOWS
    if sys.platform == "darwin":
        return MACOS
    return LINUX


def _normalise_machine(machine: str) -> str:
    """One spelling per CPU family, because wheel tags and OSes disagree (AMD64/x86_64)."""
    lowered = machine.lower()
    return "x86_64" if lowered in ("amd64", "x64") else lowered


def _glibc_version() -> Optional[Tuple[int, int]]:
    """The C library version; manylinux wheel tags are chosen from it."""
    name, version = platform.libc_ver()
    if name != "glibc" or not version:
        return None
    major, minor = (version.split(".") + ["0"])[:2]
    return int(major), int(minor)


def _mac_release() -> Optional[Tuple[int, int]]:
    """macOS version; macOS wheel tags are chosen from it."""
    release = platform.mac_ver()[0]
    if not release:
        return None
    parts = [int(p) for p in release.split(".")[:2] if p.isdigit()]
    return (parts + [0])[0], (parts + [0, 0])[1]


def _nvidia_present(system: str, env: Mapping[str, str]) -> bool:
    """Whether an NVIDIA driver is installed, which decides CUDA vs CPU wheels of torch."""
    if shutil.which("nvidia-smi", path=env.get("PATH")):
        return True
    if system == LINUX:
        return Path("/proc/driver/nvidia/version").exists()
    if system == WINDOWS:
        root = env.get("SystemRoot", r"C:\Windows")
        return Path(root, "System32", "nvidia-smi.exe").exists()
    return False


@dataclass(frozen=True)
class Host:
    """The facts about a machine that decide where Krita lives and which wheels fit it."""

    system: str
    machine: str
    env: Mapping[str, str] = field(default_factory=dict)
    glibc: Optional[Tuple[int, int]] = None
    mac_release: Optional[Tuple[int, int]] = None
    has_nvidia: bool = False
    #: Path class for this host's paths; a pure Windows path when faking Windows on Linux.
    path_type: Optional[type] = None

    @classmethod
    def current(cls) -> "Host":
        """The machine the installer is running on."""
        system = _running_system()
        env = dict(os.environ)
        return cls(
            system=system,
            machine=_normalise_machine(platform.machine()),
            env=env,
            glibc=_glibc_version() if system == LINUX else None,
            mac_release=_mac_release() if system == MACOS else None,
            has_nvidia=_nvidia_present(system, env),
        )

    def path(self, *parts: str) -> PurePath:
        """Join ``parts`` with this host's path rules (real paths on the running OS)."""
        if self.path_type is not None:
            return self.path_type(*parts)
        if self.system == _running_system():
            return Path(*parts)
        return (PureWindowsPath if self.system == WINDOWS else PurePosixPath)(*parts)

    @property
    def home(self) -> PurePath:
        """The user's home folder, from the environment so tests can move it."""
        keys = ("USERPROFILE", "HOME") if self.system == WINDOWS else ("HOME",)
        for key in keys:
            if self.env.get(key):
                return self.path(self.env[key])
        return self.path(os.path.expanduser("~"))

    def env_dir(self, key: str, *default: str) -> PurePath:
        """``$key`` when set and non-empty, else ``home/default`` (the XDG convention)."""
        value = self.env.get(key)
        return self.path(value) if value else self.path(str(self.home), *default)

    def which(self, name: str) -> Optional[str]:
        """``shutil.which`` over this host's PATH."""
        return shutil.which(name, path=self.env.get("PATH", os.defpath))


@dataclass(frozen=True)
class Location:
    """Where one kind of Krita (native, Flatpak, ...) keeps resources and settings."""

    variant: str
    resource_dir: PurePath
    kritarc: PurePath


def linux_locations(host: Host) -> List[Location]:
    """Native and AppImage Krita follow XDG; Flatpak and Snap keep a private home."""
    data = host.env_dir("XDG_DATA_HOME", ".local", "share")
    config = host.env_dir("XDG_CONFIG_HOME", ".config")
    flatpak = host.path(str(host.home), ".var", "app", FLATPAK_ID)
    snap = host.path(str(host.home), "snap", "krita", "current")
    return [
        Location("native", data / "krita", config / "kritarc"),
        Location("appimage", data / "krita", config / "kritarc"),
        Location("flatpak", flatpak / "data" / "krita", flatpak / "config" / "kritarc"),
        Location("snap", snap / ".local" / "share" / "krita", snap / ".config" / "kritarc"),
    ]


def windows_locations(host: Host) -> List[Location]:
    """Krita on Windows: resources in %APPDATA%, kritarc in %LOCALAPPDATA%."""
    roaming = host.env_dir("APPDATA", "AppData", "Roaming")
    local = host.env_dir("LOCALAPPDATA", "AppData", "Local")
    return [Location("windows", roaming / "krita", local / "kritarc")]


def macos_locations(host: Host) -> List[Location]:
    """Krita on macOS: the usual Application Support and Preferences folders."""
    library = host.path(str(host.home), "Library")
    return [Location("macos", library / "Application Support" / "krita", library / "Preferences" / "kritarc")]


def locations(host: Host) -> List[Location]:
    """Every place Krita may keep its resources on ``host``, most common first."""
    if host.system == WINDOWS:
        return windows_locations(host)
    if host.system == MACOS:
        return macos_locations(host)
    return linux_locations(host)


def location_for(host: Host, variant: str) -> Location:
    """The resource location used by one kind of Krita install."""
    for location in locations(host):
        if location.variant == variant:
            return location
    return locations(host)[0]
