"""The dialog's choices, kept between sessions in Krita's settings (kritarc, [neural_style]).

``store`` is anything with Krita's ``readSetting(group, key, default)`` /
``writeSetting(group, key, value)``; by default ``Krita.instance()``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Optional

GROUP = "neural_style"
MAX_RECENT = 6
PRESETS = ("fast", "balanced", "quality")
COLOUR_MODES = ("none", "luminance", "histogram")
TARGETS = ("active", "selected")
DEVICES = ("auto", "cpu")


@dataclass
class PluginSettings:
    style_source: str = "file"  #: "file" or "layer"
    style_path: str = ""
    recent_styles: list = field(default_factory=list)
    preset: str = "fast"
    style_strength: float = 1.0  #: multiplies the preset's style weight
    steps: int = 0  #: 0 = the preset's
    size: int = 0  #: long side of the working size in px; 0 = the preset's
    style_scale: float = 1.0
    preserve_colors: str = "none"
    seed: int = 0
    target: str = "active"  #: "active" layer or every "selected" layer
    device: str = "auto"
    advanced_open: bool = False

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, store=None) -> "PluginSettings":
        store = store if store is not None else _krita()
        settings = cls()
        for f in fields(cls):
            raw = store.readSetting(GROUP, f.name, "")
            if raw in (None, ""):
                continue
            try:
                setattr(settings, f.name, _parse(f.name, raw, getattr(settings, f.name)))
            except (TypeError, ValueError):
                pass  # a hand-edited or old value: keep the default
        settings.sanitise()
        return settings

    def save(self, store=None) -> None:
        store = store if store is not None else _krita()
        self.sanitise()
        for name, value in asdict(self).items():
            store.writeSetting(GROUP, name, _format(value))

    # ------------------------------------------------------------------ helpers
    def sanitise(self) -> None:
        if self.style_source not in ("file", "layer"):
            self.style_source = "file"
        if self.preset not in PRESETS:
            self.preset = "fast"
        if self.preserve_colors not in COLOUR_MODES:
            self.preserve_colors = "none"
        if self.target not in TARGETS:
            self.target = "active"
        if self.device not in DEVICES:
            self.device = "auto"
        self.recent_styles = [str(p) for p in self.recent_styles if p][:MAX_RECENT]
        self.steps = max(0, int(self.steps))
        self.size = max(0, int(self.size))
        self.seed = max(0, int(self.seed))
        self.style_strength = min(100.0, max(0.01, float(self.style_strength)))
        self.style_scale = min(8.0, max(0.05, float(self.style_scale)))

    def remember_style(self, path: str) -> None:
        """Put ``path`` first in the recent list (at most MAX_RECENT, no duplicates)."""
        if not path:
            return
        self.style_path = path
        self.recent_styles = [path] + [p for p in self.recent_styles if p != path]
        self.recent_styles = self.recent_styles[:MAX_RECENT]

    def engine_options(self) -> dict:
        """Options for ``engine_bridge.build_config`` / ``api.stylize_layers``."""
        return {
            "style_strength": self.style_strength,
            "steps": self.steps or None,
            "size": self.size or None,
            "style_scale": self.style_scale,
            "preserve_colors": None if self.preserve_colors == "none" else self.preserve_colors,
            "seed": self.seed,
            "device": self.device,
        }


def _parse(name: str, raw: str, default):
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, list):
        value = json.loads(raw)
        if not isinstance(value, list):
            raise ValueError(name)
        return value
    return raw


def _format(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def _krita():
    from krita import Krita

    return Krita.instance()


class MemoryStore:
    """A dict-backed stand-in for Krita's settings (tests, scripting)."""

    def __init__(self, values: Optional[dict] = None):
        self.values = dict(values or {})

    def readSetting(self, group, key, default):  # noqa: N802 (Krita's spelling)
        return self.values.get((group, key), default)

    def writeSetting(self, group, key, value):  # noqa: N802
        self.values[(group, key)] = value
