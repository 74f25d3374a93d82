"""Shared fixtures: real example images, small sizes (the CI machine has two CPU cores)."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT / "examples"

# One measured speed path (nst_core/speed.py) for the whole session, shared by every process it starts
# (CLI runs, Krita with a temporary $HOME), so the choice is timed once and cannot differ between them.
os.environ.setdefault("NST_SPEED_CACHE", str(Path(tempfile.mkdtemp(prefix="nst-speed-")) / "speed.json"))


@pytest.fixture(scope="session")
def content_path() -> Path:
    return EXAMPLES / "content" / "coffee.png"


@pytest.fixture(scope="session")
def style_path() -> Path:
    return EXAMPLES / "style" / "starry_night.jpg"


@pytest.fixture(scope="session")
def second_style_path() -> Path:
    return EXAMPLES / "style" / "woman-with-hat-matisse.jpg"


@pytest.fixture(scope="session")
def small_content(content_path):
    """The coffee photo at 96×64 as uint8 RGB, so runs take well under a second a step."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(content_path).convert("RGB").resize((96, 64), Image.LANCZOS))


@pytest.fixture(scope="session")
def small_style(style_path):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(style_path).convert("RGB").resize((96, 60), Image.LANCZOS))
