"""The record of one installation, so ``--uninstall`` removes exactly what we added.

It lists the folders we own outright (the plugin packages, the pip target), single files
we wrote, folders we had to create (removed again only if empty), and how ``kritarc``
looked before we touched it. Paths are absolute: the kritarc usually lives outside the
resource folder.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

from . import __version__

FORMAT = 1


@dataclass
class KritarcRecord:
    """What enabling the plugin changed in kritarc, to put it back exactly."""

    path: str
    existed: bool
    #: The file's bytes before our edit, base64, restored when nobody changed it since.
    original_b64: str
    #: sha256 of what we wrote; a different hash means Krita rewrote the file since.
    written_sha256: str
    #: The ``enable_<name>=...`` line we overwrote, or None if we added the line.
    previous_line: Optional[str]
    created_section: bool


@dataclass
class Manifest:
    """Everything one run of install.py put on disk."""

    krita_dir: str
    mode: str  # "pip" or "link-env"
    python_version: str
    build: Optional[str] = None
    sys_paths: List[str] = field(default_factory=list)
    trees: List[str] = field(default_factory=list)
    files: List[str] = field(default_factory=list)
    created_dirs: List[str] = field(default_factory=list)
    kritarc: Optional[KritarcRecord] = None
    installer_version: str = __version__
    format: int = FORMAT

    def owned_paths(self) -> List[str]:
        """Trees and files, the things removed outright on uninstall or when stale."""
        return list(self.trees) + list(self.files)


def load(path: Path) -> Optional[Manifest]:
    """The manifest at ``path``; None when absent or unreadable (treated as not installed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    record = data.pop("kritarc", None)
    known = set(Manifest.__dataclass_fields__)
    manifest = Manifest(**{k: v for k, v in data.items() if k in known})
    manifest.kritarc = KritarcRecord(**record) if record else None
    return manifest


def dumps(manifest: Manifest) -> str:
    """Stable, readable JSON (people do open this file to see what was installed)."""
    return json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n"
