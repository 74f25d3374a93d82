"""Where things come from (the repository) and where they go (Krita's resource folder).

This is the contract the plugin is written against; keeping the names in one place
means install, ``--check`` and ``--uninstall`` cannot disagree about them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List

from . import PLUGIN_NAME
from .errors import EXIT_SETUP, InstallError

#: The repository checkout this installer belongs to.
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Layout:
    """The installed files inside one Krita resource folder."""

    krita_dir: Path

    @property
    def pykrita(self) -> Path:
        return self.krita_dir / "pykrita"

    @property
    def package(self) -> Path:
        """The plugin package Krita imports (a copy of the repository's ``plugin/``)."""
        return self.pykrita / PLUGIN_NAME

    @property
    def engine(self) -> Path:
        return self.pykrita / "nst_core"

    @property
    def desktop(self) -> Path:
        return self.pykrita / f"{PLUGIN_NAME}.desktop"

    @property
    def actions(self) -> Path:
        return self.krita_dir / "actions"

    @property
    def action(self) -> Path:
        return self.actions / f"{PLUGIN_NAME}.action"

    @property
    def deps(self) -> Path:
        """pip's ``--target`` folder in the default (non ``--link-env``) mode."""
        return self.pykrita / f"{PLUGIN_NAME}_deps"

    @property
    def manifest(self) -> Path:
        return self.pykrita / f"{PLUGIN_NAME}_install.json"

    @property
    def sys_paths(self) -> Path:
        """One folder per line that the plugin adds to ``sys.path``."""
        return self.package / "sys_paths.txt"

    def describe(self, path: Path) -> str:
        """``path`` relative to the resource folder, for short messages."""
        try:
            return path.relative_to(self.krita_dir).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Sources:
    """The files in the repository that make up the plugin."""

    root: Path = REPO_ROOT

    @property
    def plugin(self) -> Path:
        return self.root / "plugin"

    @property
    def engine(self) -> Path:
        return self.root / "nst_core"

    @property
    def paintings(self) -> Path:
        """The example paintings (public domain), offered in the dialog on first use."""
        return self.root / "examples" / "style"

    @property
    def desktop(self) -> Path:
        return self.root / "metadata.desktop"

    @property
    def action(self) -> Path:
        return self.plugin / f"{PLUGIN_NAME}.action"

    def missing(self) -> List[str]:
        """Required source files that are absent (an incomplete or wrong checkout)."""
        required = [self.plugin, self.engine, self.desktop, self.action]
        return [p.relative_to(self.root).as_posix() for p in required if not p.exists()]

    def validate(self) -> None:
        """Refuse to install half a plugin."""
        missing = self.missing()
        if missing:
            raise InstallError(f"the checkout at {self.root} is incomplete (missing {', '.join(missing)}): "
                               "run install.py from a complete copy of the repository", EXIT_SETUP)
