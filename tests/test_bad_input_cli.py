"""Bad input and faults in the command line and the engine (issue 10): one plain line,
no traceback, memory bounded, nothing lost.

Every CLI case runs ``python -m nst_core`` as a user does (a real subprocess); the peak
memory of that process is read from the kernel (``wait4``'s ``ru_maxrss``). The image bombs are real,
valid PNGs (tests/krita/bombs.py) that would take gigabytes to decode.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "krita"))
import bombs  # noqa: E402

MB = 2**20
#: a refused bomb may cost the interpreter, Pillow and (where reached) torch — not the decoded image
BOMB_PEAK_LIMIT = 400 * MB
#: Python with Pillow and numpy, before torch is imported (importing torch alone adds > 150 MB)
TORCH_FREE_PEAK = 120 * MB


#: runs ``python -m nst_core`` exactly, and writes the process's own peak memory (VmHWM) at exit
_LAUNCH = ("import atexit, runpy, sys\n"
           "def _peak(path=sys.argv.pop(1)):\n"
           "    with open(path, 'w') as f: f.write(open('/proc/self/status').read())\n"
           "atexit.register(_peak)\n"
           "sys.argv[0] = 'nst_core'\n"
           "runpy.run_module('nst_core', run_name='__main__', alter_sys=True)\n")


def run_cli(*args: str, env=None, timeout=600):
    """(returncode, stdout, stderr, peak RSS in bytes) of ``python -m nst_core ARGS``.

    The peak is the process's own VmHWM, written at exit (a forked child's ``ru_maxrss``
    would include the memory of pytest it was forked from).
    """
    status = Path(os.environ.get("TMPDIR", "/tmp")) / f"nst-cli-{os.getpid()}-{time.monotonic_ns()}.status"
    done = subprocess.run([sys.executable, "-c", _LAUNCH, str(status), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **(env or {})))
    peak = 0
    if status.is_file():
        match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
        peak = int(match.group(1)) * 1024 if match else 0
        status.unlink()
    assert peak > 0, f"no peak memory recorded: {done.stderr}"
    return done.returncode, done.stdout, done.stderr, peak


def one_line(stderr: str, text: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr
    assert len(lines) == 1 and text in lines[0], stderr
    return lines[0]


@pytest.fixture(scope="session")
def bomb_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bombs")


@pytest.fixture(scope="session")
def bomb_20000(bomb_dir):
    return bombs.write_png(bomb_dir / "bomb_20000.png", 20000, 20000, channels=1)


@pytest.fixture(scope="session")
def bomb_13000(bomb_dir):
    return bombs.write_png(bomb_dir / "bomb_13000.png", 13000, 13000, channels=3)


@pytest.fixture(scope="session")
def bomb_10000(bomb_dir):
    return bombs.write_png(bomb_dir / "bomb_10000.png", 10000, 10000, channels=1)


# ----------------------------------------------------------------------------- 1. image bombs

def test_content_bomb_is_refused_from_its_header(tmp_path, bomb_20000, style_path):
    code, out, err, peak = run_cli(str(bomb_20000), str(style_path), "-o", str(tmp_path / "o.png"))
    assert code == 1
    line = one_line(err, "20000×20000 px")
    assert "content image" in line and "8192×8192" in line and "bomb_20000.png" in line
    assert peak < BOMB_PEAK_LIMIT, f"peak {peak / MB:.0f} MB"
    assert not (tmp_path / "o.png").exists()


def test_style_bomb_is_refused_from_its_header(tmp_path, content_path, bomb_13000):
    code, out, err, peak = run_cli(str(content_path), str(bomb_13000), "-o", str(tmp_path / "o.png"))
    assert code == 1
    line = one_line(err, "13000×13000 px")
    assert "style image" in line and "limit" in line
    assert peak < BOMB_PEAK_LIMIT, f"peak {peak / MB:.0f} MB"


def test_init_bomb_is_refused(tmp_path, content_path, style_path, bomb_10000):
    code, out, err, peak = run_cli(str(content_path), str(style_path), "--init", str(bomb_10000),
                                   "-o", str(tmp_path / "o.png"))
    assert code == 1
    one_line(err, "init image")
    assert "DecompressionBomb" not in err  # Pillow's own warning never shows
    assert peak < BOMB_PEAK_LIMIT, f"peak {peak / MB:.0f} MB"


def test_engine_refuses_bombs_and_huge_arrays_with_its_own_error(bomb_10000):
    import nst_core

    with pytest.raises(nst_core.BadImage, match="10000×10000 px"):
        nst_core.stylize(str(bomb_10000), str(bomb_10000), nst_core.StyleConfig.from_preset("fast", steps=1, size=32))
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (9000, 9000, 3))  # no memory behind it
    with pytest.raises(nst_core.BadImage, match="9000×9000 px"):
        nst_core.stylize(huge, huge, nst_core.StyleConfig.from_preset("fast", steps=1, size=32))


def test_thumbnail_is_small_and_refuses_bombs(tmp_path, style_path, bomb_10000):
    from nst_core import BadImage, limits

    thumb = limits.thumbnail(style_path, 96)
    assert max(thumb.size) == 96 and thumb.mode == "RGBA"
    with pytest.raises(BadImage, match="10000×10000"):
        limits.thumbnail(bomb_10000, 96)


# ----------------------------------------------------------------------------- 2. memory and cancel

def test_working_size_that_cannot_fit_is_refused_before_the_run(tmp_path, content_path, style_path):
    limit_mb = 1500
    code, out, err, peak = run_cli(str(content_path), str(style_path), "-o", str(tmp_path / "o.png"), "--size", "8192",
                                   "--steps", "1", env={"NST_MEMORY_LIMIT_MB": str(limit_mb)})
    assert code == 1
    line = one_line(err, "A working size of 8192 px needs about")
    fits = int(re.search(r"choose a working size of (\d+) px or less", line).group(1))
    from nst_core import memory

    content = Image.open(content_path).size[::-1]
    style = Image.open(style_path).size[::-1]
    budget = limit_mb * MB * memory.USABLE_SHARE
    assert 256 <= fits < 8192
    assert memory.estimate(content, [style], fits, "cpu", 1024) <= budget < memory.estimate(content, [style], fits + 64, "cpu", 1024)
    assert peak < 1200 * MB, f"peak {peak / MB:.0f} MB"  # refused before any big allocation
    assert not (tmp_path / "o.png").exists()


def test_estimate_follows_measured_peaks():
    """The model in nst_core/memory.py against its own claims: tiling bounds a step's cost."""
    from nst_core import memory

    untiled = memory.estimate((683, 1024), [(600, 800)], 1024, "cpu", 1024)
    tiled = memory.estimate((683, 1024), [(600, 800)], 4096, "cpu", 1024)
    assert 2 * 1024**3 < untiled < 5 * 1024**3
    # 16× the pixels, tiled: the per-pixel buffers grow, the network's working set does not
    assert tiled < 16 * untiled / 2


def test_cancel_takes_effect_inside_a_tiled_step(content_path, style_path):
    """The cancel flag is checked by every layer of the network, so a tiled step stops inside.

    The flag turns true at its third reading after the first step's report: the loop reads
    it once before each step, so without checks inside a step the second step would finish
    (and be reported) before the flag is read again.
    """
    import nst_core

    content = np.asarray(Image.open(content_path).convert("RGB").resize((192, 128)))
    style = np.asarray(Image.open(style_path).convert("RGB").resize((96, 64)))
    config = nst_core.StyleConfig.from_preset("fast", size=192, steps=5, scales=1, tile_size=64, tile_overlap=16,
                                              seed=0, device="cpu")
    seen = []
    reads = {}

    def progress(p):
        seen.append(p.step)
        reads.setdefault("after_first", 0)

    def cancel():
        if "after_first" not in reads:
            return False
        reads["after_first"] += 1
        if reads["after_first"] >= 3:
            reads.setdefault("at", time.monotonic())
            return True
        return False

    with pytest.raises(nst_core.Cancelled):
        nst_core.stylize(content, style, config, progress=progress, cancel=cancel)
    latency = time.monotonic() - reads["at"]
    assert seen == [1]  # the second step was interrupted, not finished
    assert latency < 2.0, f"cancel took {latency:.2f} s"


# ----------------------------------------------------------------------------- 3. output checked first

def _read_only_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere a mode allows nothing: sysfs refuses new files even to root
        return Path("/sys")
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_read_only_output_folder_is_refused_before_the_run(tmp_path, content_path, style_path):
    folder = _read_only_folder(tmp_path)
    code, out, err, peak = run_cli(str(content_path), str(style_path), "-o", str(folder / "styled.png"),
                                   "--size", "64", "--steps", "50")
    assert code == 2
    line = one_line(err, "cannot write")
    assert "styled.png" in line and "folder you can write to" in line
    assert out == "" and "steps" not in err  # no run happened
    assert peak < TORCH_FREE_PEAK, f"peak {peak / MB:.0f} MB"  # refused before torch was even loaded


def test_unknown_output_format_is_refused_before_the_run(tmp_path, content_path, style_path):
    code, out, err, peak = run_cli(str(content_path), str(style_path), "-o", str(tmp_path / "styled.xyz"))
    assert code == 2
    one_line(err, "use a .png, .jpg")
    assert peak < TORCH_FREE_PEAK, f"peak {peak / MB:.0f} MB"  # torch was never loaded
    code, out, err, _ = run_cli(str(content_path), str(style_path), "-o", str(tmp_path))
    assert code == 2
    one_line(err, "is a folder")


def test_transparent_result_in_a_jpeg_is_flattened_with_a_note(tmp_path, content_path, style_path):
    rgba = Image.open(content_path).convert("RGBA").resize((48, 32))
    alpha = np.zeros((32, 48), np.uint8)
    alpha[:, 24:] = 255
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(tmp_path / "cut.png")
    out = tmp_path / "styled.jpg"
    code, stdout, err, _ = run_cli(str(tmp_path / "cut.png"), str(style_path), "-o", str(out), "--size", "48",
                                   "--steps", "1", "--scales", "1", "--quiet", "--device", "cpu")
    assert code == 0, err
    assert "Traceback" not in err
    notes = [line for line in err.splitlines() if line.strip()]
    assert notes == ["note: JPEG cannot store transparency, so the result will be flattened onto white "
                     "(use a .png name to keep it)"]
    saved = np.asarray(Image.open(out))
    assert saved.shape == (32, 48, 3)
    assert saved[:, :20].mean() > 245 and saved[:, :20].min() > 215  # the transparent half became white (JPEG)


# ----------------------------------------------------------------------------- 4. tracebacks and wrong words

@pytest.mark.parametrize("args,code,text", [
    (["--seed", str(2**70)], 2, "--seed"),
    (["--seed", "-1"], 2, "out of range"),
    (["--style-weight", "nan"], 2, "not a finite number"),
    (["--style-weight", "inf"], 2, "not a finite number"),
    (["--content-weight=-inf"], 2, "not a finite number"),
    (["--style-weight", "-1"], 1, "negative"),
])
def test_bad_numbers_get_one_plain_line(tmp_path, content_path, style_path, args, code, text):
    rc, out, err, _ = run_cli(str(content_path), str(style_path), "-o", str(tmp_path / "o.png"), "--steps", "1", *args)
    assert rc == code
    one_line(err, text)
    assert not (tmp_path / "o.png").exists()


def test_ctrl_c_while_torch_loads_prints_cancelled(tmp_path, content_path, style_path):
    proc = subprocess.Popen([sys.executable, "-m", "nst_core", str(content_path), str(style_path),
                             "-o", str(tmp_path / "o.png"), "--size", "64", "--steps", "1"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    maps, cmdline = Path(f"/proc/{proc.pid}/maps"), Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            # only after exec (before it, the forked child is a copy of this pytest process, which may
            # have torch loaded already, and a signal sent then is lost in the exec)
            if b"nst_core" in cmdline.read_bytes() and "libtorch" in maps.read_text():
                break  # torch's libraries are being loaded right now
        except OSError:
            pass
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert [line for line in err.splitlines() if line.strip()] == ["cancelled"]


@pytest.mark.parametrize("options,text", [
    (dict(seed=2**70), "Seed"),
    (dict(steps="abc"), "Steps 'abc' is not a whole number"),
    (dict(style_weight=float("nan")), "not a number (NaN)"),
    (dict(style_weight=float("inf")), "infinite"),
    (dict(size=[512]), "Size [512] is not a whole number"),
    (dict(style_blend=[1, float("nan")]), "finite numbers"),
])
def test_config_refuses_with_its_own_error(options, text):
    import nst_core

    with pytest.raises(nst_core.BadConfig) as caught:
        nst_core.StyleConfig.from_preset("fast", **options)
    assert text in str(caught.value) and "\n" not in str(caught.value)


def test_nan_pixel_names_the_pixel():
    import nst_core

    content = np.full((32, 48, 3), 0.5, np.float32)
    content[7, 11, 1] = np.nan
    with pytest.raises(nst_core.BadImage, match=r"1 pixel\(s\) that are NaN or infinite \(the first at x=11, y=7\)"):
        nst_core.stylize(content, content, nst_core.StyleConfig.from_preset("fast", steps=1, size=32))
