"""Enabling the plugin in the kritarc *file*, and undoing exactly that.

:mod:`.kritarc` edits text; this module decides what to remember so ``--uninstall`` can
give back the file as it was. If nobody touched kritarc since we wrote it, the saved
original bytes come back as they were. If Krita rewrote it meanwhile (it does on exit),
only our line is taken out, so the user's newer settings survive.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import List, Optional, Tuple

from . import PLUGIN_NAME, files, kritarc
from .manifest import KritarcRecord

KEY = f"enable_{PLUGIN_NAME}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> Optional[bytes]:
    """The file's bytes, or None if it does not exist yet (Krita never started)."""
    with files.writing(path):
        return path.read_bytes() if path.exists() else None


def _fresh_record(path: Path, before: Optional[bytes], written: bytes) -> KritarcRecord:
    """What a first enabling changed, from the file's bytes before it."""
    text = kritarc.decode(before or b"")
    setting = kritarc.find_setting(text, KEY)
    previous_line = kritarc.split_lines(text)[setting.index] if setting else None
    return KritarcRecord(
        path=str(path), existed=before is not None,
        original_b64=base64.b64encode(before or b"").decode("ascii"),
        written_sha256=_sha256(written), previous_line=previous_line,
        created_section=not kritarc.has_section(text),
    )


def _carried_record(record: KritarcRecord, current: Optional[bytes], written: bytes) -> KritarcRecord:
    """Re-enabling after Krita rewrote the file: the 'original' becomes the file minus our line."""
    baseline = kritarc.encode(_without_our_line(record, current or b""))
    return KritarcRecord(
        path=record.path, existed=record.existed or bool(baseline),
        original_b64=base64.b64encode(baseline).decode("ascii"), written_sha256=_sha256(written),
        previous_line=record.previous_line, created_section=record.created_section,
    )


def _without_our_line(record: KritarcRecord, data: bytes) -> str:
    return kritarc.remove(kritarc.decode(data), KEY, record.previous_line, record.created_section)


def enable_plugin(path: Path, previous: Optional[KritarcRecord]) -> Tuple[Optional[KritarcRecord], List[Path]]:
    """Set ``[python] enable_neural_style=true``; return the record to keep and folders created.

    The record is None when the line was already there before any install (not ours to
    remove). ``previous`` is the record of an earlier install, kept while still valid so
    reinstalling never forgets what the file looked like before the first install.
    """
    if previous is not None and previous.path != str(path):
        restore_kritarc(previous)
        previous = None
    current = _read(path)
    if previous is not None and current is not None and _sha256(current) == previous.written_sha256:
        return previous, []
    text = kritarc.decode(current or b"")
    updated = kritarc.encode(kritarc.enable(text, KEY))
    if previous is None and current is not None and updated == current:
        return None, []
    created = files.make_dirs(path.parent)
    if updated != current:
        files.write_file(path, updated)
    if previous is not None:
        return _carried_record(previous, current, updated), created
    return _fresh_record(path, current, updated), created


def restore_kritarc(record: KritarcRecord) -> None:
    """Give kritarc back as it was before install, keeping changes Krita made since."""
    path = Path(record.path)
    current = _read(path)
    if current is None:
        return
    if _sha256(current) == record.written_sha256:
        if record.existed:
            files.write_file(path, base64.b64decode(record.original_b64))
        else:
            files.remove_paths([path])
        return
    restored = kritarc.encode(_without_our_line(record, current))
    if restored != current:
        files.write_file(path, restored)
