"""Shared fixtures: real example images, small sizes (the CI machine has two CPU cores); the
Krita plugin imported outside Krita, and the fake ``krita`` module (tests/mock/krita.py)."""
from __future__ import annotations

import importlib
import importlib.util
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


@pytest.fixture(scope="module")
def plugin():
    """Import ``plugin/`` as a package, as outside Krita, without leaving the triton block in this process."""
    saved = sys.modules.get("triton", 0)
    package = importlib.import_module("plugin")
    for name in ("bootstrap", "settings", "engine_bridge", "errors", "layers", "jobs", "regions", "cost", "threads"):
        importlib.import_module(f"plugin.{name}")
    assert package.EXTENSION is None  # outside Krita nothing is registered
    yield package
    if saved == 0 and sys.modules.get("triton", 0) is None:
        del sys.modules["triton"]
    elif saved != 0:
        sys.modules["triton"] = saved


@pytest.fixture
def krita(plugin, monkeypatch):
    """The fake ``krita`` module (tests/mock/krita.py) as ``import krita`` finds it, with a fresh
    ``Krita.instance()``; gone after the test. The plugin is imported first, as Krita would."""
    spec = importlib.util.spec_from_file_location("krita", ROOT / "tests" / "mock" / "krita.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "krita", module)
    return module
