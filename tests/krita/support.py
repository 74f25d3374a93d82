"""Helpers shared by the plugin's Krita tests (used from pytest, outside Krita).

``install_layout`` builds the installed layout by hand — ``pykrita/neural_style`` (a copy
of ``plugin/``), ``pykrita/nst_core`` and ``neural_style/sys_paths.txt`` naming the venv's
site-packages — for the kritarunner API tests; the GUI test uses ``install.py`` itself.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KRITA_TESTS = Path(__file__).resolve().parent
CONTENT = REPO / "examples" / "content" / "chelsea.png"
STYLE = REPO / "examples" / "style" / "starry_night.jpg"


def venv_site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def manual_layout(pykrita: Path) -> Path:
    pykrita.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "sys_paths.txt")
    shutil.copytree(REPO / "plugin", pykrita / "neural_style", ignore=ignore, dirs_exist_ok=True)
    if (REPO / "nst_core").is_dir():
        shutil.copytree(REPO / "nst_core", pykrita / "nst_core", ignore=ignore, dirs_exist_ok=True)
    (pykrita / "neural_style" / "sys_paths.txt").write_text(venv_site_packages() + "\n", encoding="utf-8")
    shutil.copy(REPO / "metadata.desktop", pykrita / "neural_style.desktop")
    return pykrita


def install_driver(krita_dir: Path, folder: str, package: str) -> None:
    """Put the test-only driver plugin ``tests/krita/<folder>/<package>`` into ``krita_dir``'s
    pykrita folder, with its .desktop file and the harness every driver imports."""
    source, pykrita = KRITA_TESTS / folder, krita_dir / "pykrita"
    shutil.copytree(source / package, pykrita / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(source / f"{package}.desktop", pykrita)
    shutil.copy(KRITA_TESTS / "nst_driver_harness.py", pykrita)


def install_with_script(krita_dir: Path, home: Path) -> None:
    """Install the plugin exactly as a developer would: ``install.py --link-env <venv>``.

    The GUI test runs against this installation, so a broken installer fails it.
    """
    venv = Path(sys.prefix)
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.run(
        [sys.executable, str(REPO / "install.py"), "--link-env", str(venv), "--krita-dir", str(krita_dir)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not (krita_dir / "pykrita" / "neural_style" / "__init__.py").is_file():
        raise AssertionError(f"install.py --link-env failed (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def run_kritarunner(module: str, pythonpath: list, out_json: Path, args=(), timeout=240, home=None) -> dict:
    """Run ``kritarunner -s module`` offscreen and return the JSON it wrote to ``out_json``."""
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    env.pop("PYTHONHOME", None)
    if home is not None:
        env["HOME"] = str(home)
        env["XDG_CONFIG_HOME"] = str(Path(home) / ".config")
        env["XDG_DATA_HOME"] = str(Path(home) / ".local" / "share")
    cmd = ["kritarunner", "-s", module, str(out_json), *[str(a) for a in args]]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if not out_json.is_file():
        raise AssertionError(f"kritarunner wrote no results (rc={proc.returncode}).\n"
                             f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return json.loads(out_json.read_text(encoding="utf-8"))


def run_until_result(command: list, env: dict, log: Path, result: Path, timeout: float) -> int:
    """Run Krita (``command``) with its output in ``log`` until it writes ``result`` or exits or
    ``timeout`` passes; then give it 15 s to quit (Krita can crash while quitting, so tests read
    ``result``, not the exit status) and kill what is left of its own process group. Returns the exit status."""
    with open(log, "w") as handle:
        proc = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and proc.poll() is None and not result.is_file():
                time.sleep(0.5)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # our own process group only
                proc.wait()
    return proc.returncode
