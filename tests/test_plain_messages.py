"""What a painter reads about a bad file says what is wrong with it — never an exception's
class name or an internal format code (issue 21, finding 3): the engine's own messages
(nst_core.limits, shared by the CLI, Krita and GIMP) and the command line's. GIMP's are
checked in real GIMP by tests/test_gimp.py (the dialog and the procedure's error).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from nst_core import BadImage, limits

ROOT = Path(__file__).resolve().parents[1]
#: what must never reach a painter: Python's exception names, or a bare "(SomethingError)"
TECHNICAL = re.compile(r"[A-Za-z]*(Error|Exception)\b|\(U8\)|\(U16\)|Traceback")


def plain(message: str) -> str:
    assert not TECHNICAL.search(message), message
    assert "\n" not in message.strip(), message
    return message


@pytest.fixture
def bad_files(tmp_path, style_path):
    text = tmp_path / "not-an-image.jpg"
    text.write_text("hello, I am a letter, not a painting")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    whole = tmp_path / "whole.png"
    Image.open(style_path).convert("RGB").resize((120, 90)).save(whole)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    jpeg = tmp_path / "truncated.jpg"
    Image.open(style_path).convert("RGB").resize((300, 200)).save(tmp_path / "whole.jpg", quality=90)
    jpeg.write_bytes((tmp_path / "whole.jpg").read_bytes()[:3000])
    return {"text": text, "empty": empty, "truncated": truncated, "jpeg": jpeg}


@pytest.mark.parametrize("kind, words", [("text", "is not an image"), ("empty", "is not an image"),
                                         ("truncated", "damaged or incomplete"), ("jpeg", "damaged or incomplete")])
def test_engine_says_what_is_wrong_with_a_file(bad_files, kind, words):
    with pytest.raises(BadImage) as caught:
        limits.open_image(bad_files[kind], "style image")
    message = plain(str(caught.value))
    assert words in message and str(bad_files[kind]) in message
    assert message.startswith("The style image '") and message.endswith(".")


def test_thumbnail_and_header_checks_say_the_same(bad_files):
    for call in (lambda p: limits.thumbnail(p, 64), lambda p: limits.check_image_file(p, "style image")):
        with pytest.raises(BadImage) as caught:
            call(bad_files["text"])
        assert "is not an image" in plain(str(caught.value))


def test_permission_denied_is_said_as_such(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    path.write_bytes(b"x")

    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(limits.Image, "open", refuse)
    with pytest.raises(BadImage) as caught:
        limits.open_image(path, "content image")
    assert "you do not have permission to read it" in plain(str(caught.value))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nst_core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_cli_truncated_photo_and_text_painting_get_one_plain_line(tmp_path, bad_files, content_path, style_path):
    """The CLI checks headers before loading torch; a truncated PNG passes its header and is
    refused when decoded — both in words, as one ``error:`` line."""
    for content, style, words in ((bad_files["truncated"], style_path, "damaged or incomplete"),
                                  (content_path, bad_files["text"], "is not an image")):
        done = run_cli(content, style, "-o", tmp_path / "out.png", "--size", "32", "--steps", "1", "--quiet")
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode != 0 and len(lines) == 1, done.stderr
        assert lines[0].startswith("error:") and words in plain(lines[0]), lines[0]
        assert "(OSError)" not in lines[0] and "UnidentifiedImageError" not in lines[0]
