"""Every choice of the dialog declared once — label, tooltip, range, default — and kept
between sessions in Krita's settings (kritarc, [neural_style]).

Why one declaration: the dialog, the saved settings and the scripting API each used to
keep their own bounds (the style strength was 0.1–10 in the dialog, 0.01–100 in the saved
settings, and 0 silently became 1). Now :data:`SETTINGS` is the only place: the dialog
builds its widgets from it (``plugin/ui/dialog.py``), :class:`PluginSettings` takes its
defaults from it and falls back to them for saved values out of range, and
:func:`problem` gives the one plain sentence the API raises for a value out of range.

The presets, their order, their hints and the default preset come from
``nst_core.config`` (it imports neither torch nor numpy, so the GUI thread may read it).

``store`` is anything with Krita's ``readSetting(group, key, default)`` /
``writeSetting(group, key, value)``; by default ``Krita.instance()``.
"""
from __future__ import annotations

import json
import math
import os
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional, Tuple

from . import bootstrap

bootstrap.install()  # nst_core may live in the linked environment
try:
    from nst_core.config import DEFAULT_PRESET, DETAIL_CHOICES, PRESET_HINTS, PRESETS as _ENGINE_PRESETS, STYLE_SCALE_RANGE
except ImportError:  # the engine is missing: the dialog says so and refuses to run
    DEFAULT_PRESET, DETAIL_CHOICES, PRESET_HINTS, _ENGINE_PRESETS, STYLE_SCALE_RANGE = "", (("", ""),), {}, {}, (0.05, 8.0)

GROUP = "neural_style"
#: install.py copies the example paintings (public domain, examples/style) into this folder of
#: the installed plugin (nst_installer.PAINTINGS); the dialog offers them on first use
PAINTINGS = "paintings"
MAX_RECENT = 6
#: the engine's presets, in its order
PRESETS = tuple(_ENGINE_PRESETS)
TARGETS = ("active", "selected", "frames")


@dataclass(frozen=True)
class Setting:
    """One field of the dialog: its label, default, tooltip and (for numbers) range.

    ``zero`` names what 0 means for fields where 0 stands for "the preset's value";
    ``choices`` are (key, label) pairs for a drop-down list.
    """

    label: str
    default: Any
    help: str
    range: Optional[Tuple[float, float]] = None
    step: float = 1
    decimals: int = 0
    suffix: str = ""
    zero: str = ""
    least: Optional[float] = None  #: the smallest value other than 0, where 0 means "the preset's"
    choices: Tuple[Tuple[Any, str], ...] = ()

    def keys(self) -> tuple:
        return tuple(key for key, _ in self.choices)

    def range_text(self) -> str:
        low, high = self.range
        unit = self.suffix.strip()
        unit = f" {unit}" if unit and unit != "×" else ""
        text = f"{_number(low)} to {_number(high)}{unit}"
        return f"0 (the {self.zero.lower()}) or {_number(self.lowest())} to {_number(high)}{unit}" if self.zero else text

    def lowest(self) -> float:
        """The smallest value allowed besides 0 ("the preset's")."""
        return self.least if self.least is not None else self.range[0]


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


SETTINGS = {
    "preset": Setting(
        "Preset:", DEFAULT_PRESET, "How long and how finely the style is painted; the hint beside it says more.",
        choices=tuple((name, name.capitalize()) for name in PRESETS)),
    "detail": Setting(
        "Detail:", DETAIL_CHOICES[0][0], "Where the run ends. At the layer's own size the result is as sharp as the layer at 100 % "
        "(coarse-to-fine goes on up to it, a few steps each); at the working size it is scaled up to the layer "
        "(faster, softer on big layers).",
        choices=DETAIL_CHOICES),
    "style_strength": Setting(
        "Style strength:", 1.0, "How strongly the style is imposed, relative to the preset (1 × = the preset's).",
        range=(0.1, 10.0), step=0.1, decimals=2, suffix=" ×"),
    "steps": Setting(
        "Steps:", 0, "Optimisation steps at each scale; more = closer to the style, slower.",
        range=(0, 5000), zero="Preset's", least=1),
    "size": Setting(
        "Working size:", 0, "Long side of the image the style is computed at; the result is scaled to the layer.",
        range=(0, 8192), step=64, suffix=" px", zero="Preset's", least=16),
    "style_scale": Setting(
        "Style scale:", 1.0, "Size of the style's brush strokes and patterns (below 1 = finer, above 1 = coarser).",
        range=STYLE_SCALE_RANGE, step=0.25, decimals=2, suffix=" ×"),
    "preserve_colors": Setting(
        "Colours:", "none", "Whose colours the result has: the painting's or the layer's.",
        choices=(("none", "Take the style's colours"),
                 ("luminance", "Keep the layer's colours (luminance)"),
                 ("histogram", "Keep the layer's colours (histogram match)"))),
    "seed": Setting(
        "Seed:", 0, "The same seed and settings give the same result.", range=(0, 2_147_483_647)),
    "device": Setting(
        "Run on:", "auto", "Where the engine runs.",
        choices=(("auto", "Automatic (GPU if available)"), ("cpu", "CPU only"))),
}
#: the dialog's advanced fields, in the order they are shown
ADVANCED = ("style_strength", "steps", "size", "style_scale", "preserve_colors", "seed", "device")


def problem(name: str, value) -> Optional[str]:
    """The plain sentence refusing ``value`` for setting ``name``, or None if it is fine.

    Only numbers are judged here (ranges); text that is not a number is left to the
    engine, which names the field and says what kind of value it needs.
    """
    setting = SETTINGS[name]
    if setting.choices:
        return None if value in setting.keys() else (
            f"{setting.label.rstrip(':')} {value!r} is not one of {', '.join(map(str, setting.keys()))}.")
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if not math.isfinite(value):
        return None
    low, high = setting.range
    if setting.zero and value == 0:
        return None
    low = setting.lowest()
    if low <= value <= high:
        return None
    return f"{setting.label.rstrip(':')} {_number(value)} is out of range: use {setting.range_text()}."


@dataclass
class PluginSettings:
    style_source: str = "file"  #: "file" or "layer"
    style_path: str = ""
    recent_styles: list = field(default_factory=list)
    preset: str = SETTINGS["preset"].default
    style_strength: float = SETTINGS["style_strength"].default  #: multiplies the preset's style weight
    steps: int = SETTINGS["steps"].default  #: 0 = the preset's
    size: int = SETTINGS["size"].default  #: long side of the working size in px; 0 = the preset's
    style_scale: float = SETTINGS["style_scale"].default
    preserve_colors: str = SETTINGS["preserve_colors"].default
    seed: int = SETTINGS["seed"].default
    target: str = "active"  #: "active" layer, every "selected" layer, or every keyframe ("frames")
    device: str = SETTINGS["device"].default
    detail: str = SETTINGS["detail"].default
    advanced_open: bool = False
    #: the Regions choice (a key of plugin.regions.MODES) and the second painting, kept between runs
    regions_mode: str = "none"
    second_style: str = ""
    #: what "Automatic" ran on last time, e.g. "cpu" or "cuda", and its name ("CPU", the GPU's)
    auto_device: str = ""
    auto_device_name: str = ""
    #: per device, the step cost measured here (nst_core.calibrate): {device: {"per_pixel": s, "per_tile": s}}
    calibration: dict = field(default_factory=dict)

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
        """Any value outside its declaration (an old or hand-edited kritarc) becomes the default."""
        if self.style_source not in ("file", "layer"):
            self.style_source = "file"
        if self.target not in TARGETS:
            self.target = "active"
        from .regions import MODES

        if self.regions_mode not in dict(MODES):
            self.regions_mode = "none"
        for name, setting in SETTINGS.items():
            value = getattr(self, name)
            if setting.range is not None:
                try:
                    value = type(setting.default)(value)
                except (TypeError, ValueError, OverflowError):
                    value = setting.default
            if problem(name, value) is not None:
                value = setting.default
            setattr(self, name, value)
        self.recent_styles = [str(p) for p in self.recent_styles if p][:MAX_RECENT]
        self.calibration = {str(device): rate for device, rate in self.calibration.items()
                            if isinstance(rate, dict) and _positive(rate.get("per_pixel"))
                            and _positive(rate.get("per_tile"), zero=True)}

    def rate(self, device: str):
        """The step cost measured on ``device`` here (an ``nst_core.schedule.Rate``), or None."""
        measured = self.calibration.get(device)
        if not measured:
            return None
        from nst_core.schedule import Rate

        return Rate(device, float(measured["per_pixel"]), float(measured["per_tile"]))

    def remember_rate(self, rate) -> None:
        self.calibration[rate.device] = {"per_pixel": rate.per_pixel, "per_tile": rate.per_tile}

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
            "detail": self.detail,
        }


def _positive(value, zero: bool = False) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and (
        value >= 0 if zero else value > 0)


def _parse(name: str, raw: str, default):
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (list, dict)):
        value = json.loads(raw)
        if not isinstance(value, type(default)):
            raise ValueError(name)
        return value
    return raw


def _format(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
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


def typed_path(text: str) -> str:
    """A painting's path as typed or pasted into the file box: surrounding spaces and quotes,
    a ``file://`` URL (what a file manager's copy gives) and ``~`` undone; "" for nothing."""
    from urllib.parse import unquote, urlparse

    text = text.strip().strip("\"'").strip()
    if text.startswith("file://"):
        text = unquote(urlparse(text).path)
    return os.path.expanduser(text) if text else ""


def bundled_paintings() -> list:
    """The example paintings installed with the plugin, by name ([] in a bare checkout)."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), PAINTINGS)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [os.path.join(folder, name) for name in names if not name.startswith(".")]
