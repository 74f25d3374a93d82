"""Switching the plugin on in ``kritarc`` without touching anything else there.

``kritarc`` is written by KDE's KConfig, not by an INI library: keys may carry ``[$e]``
markers, values may hold ``%`` and ``;`` that configparser would mangle, and group
headers may be nested (``[a][b]``). So we edit it as text, line by line, and every line
we do not own comes back byte-for-byte. Text is decoded with ``surrogateescape`` so
even bytes that are not UTF-8 survive a round trip.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

SECTION = "python"
ENCODING = "utf-8"
ERRORS = "surrogateescape"


def decode(data: bytes) -> str:
    """Bytes -> text that encodes back to exactly the same bytes."""
    return data.decode(ENCODING, ERRORS)


def encode(text: str) -> bytes:
    """The inverse of :func:`decode`."""
    return text.encode(ENCODING, ERRORS)


def split_lines(text: str) -> List[str]:
    """Lines with their endings kept; only ``\\n`` ends a line (``\\r\\n`` keeps its ``\\r``)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def newline_of(text: str) -> str:
    """The file's own line ending, so added lines match their neighbours."""
    return "\r\n" if "\r\n" in text else "\n"


def _is_header(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("[") and stripped.endswith("]")


def _section_span(lines: List[str], name: str) -> Optional[Tuple[int, int]]:
    """(header index, index after the section's last line) of the first ``[name]``."""
    for start, line in enumerate(lines):
        if line.strip() == f"[{name}]":
            end = start + 1
            while end < len(lines) and not _is_header(lines[end]):
                end += 1
            return start, end
    return None


def _key_pattern(key: str) -> "re.Pattern[str]":
    """Matches ``key=...`` and KConfig's ``key[$e]=...``, with optional spaces."""
    return re.compile(r"\s*" + re.escape(key) + r"(\[[^\]]*\])?\s*=(.*?)\r?\n?$")


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")):]


def _entry(key: str) -> str:
    return f"{key}=true"


@dataclass(frozen=True)
class Setting:
    """Where ``key`` sits in the ``[python]`` section, if it is there."""

    index: int
    value: str


def find_setting(text: str, key: str) -> Optional[Setting]:
    """The line holding ``key`` in ``[python]``, and its value."""
    lines = split_lines(text)
    span = _section_span(lines, SECTION)
    if span is None:
        return None
    pattern = _key_pattern(key)
    for index in range(span[0] + 1, span[1]):
        match = pattern.match(lines[index])
        if match:
            return Setting(index, match.group(2).strip())
    return None


def has_section(text: str, name: str = SECTION) -> bool:
    """Whether a ``[name]`` group header exists."""
    return _section_span(split_lines(text), name) is not None


def is_enabled(text: str, key: str) -> bool:
    """Whether Krita would load the plugin with this kritarc."""
    setting = find_setting(text, key)
    return setting is not None and setting.value.lower() == "true"


def enable(text: str, key: str) -> str:
    """``text`` with ``[python] key=true``; unchanged if it already says so."""
    lines = split_lines(text)
    newline = newline_of(text)
    setting = find_setting(text, key)
    if setting is not None:
        if setting.value == "true":
            return text
        lines[setting.index] = _entry(key) + _ending(lines[setting.index])
        return "".join(lines)
    span = _section_span(lines, SECTION)
    if span is None:
        return _append_section(text, key, newline)
    last = span[0]
    for index in range(span[0] + 1, span[1]):
        if lines[index].strip():
            last = index
    if not _ending(lines[last]):
        lines[last] += newline
    lines.insert(last + 1, _entry(key) + newline)
    return "".join(lines)


def _append_section(text: str, key: str, newline: str) -> str:
    """A new ``[python]`` group at the end, separated by a blank line as KConfig does."""
    prefix = text
    if prefix and not prefix.endswith("\n"):
        prefix += newline
    if prefix and split_lines(prefix)[-1].strip():
        prefix += newline
    return f"{prefix}[{SECTION}]{newline}{_entry(key)}{newline}"


def remove(text: str, key: str, previous_line: Optional[str] = None, drop_empty_section: bool = False) -> str:
    """Undo :func:`enable` on a file that has changed since (Krita rewrote it, say).

    ``previous_line`` puts back a line we overwrote; ``drop_empty_section`` removes a
    ``[python]`` header we added once nothing else is left under it.
    """
    lines = split_lines(text)
    setting = find_setting(text, key)
    if setting is None:
        return text
    if previous_line is not None:
        lines[setting.index] = previous_line.rstrip("\r\n") + _ending(lines[setting.index])
        return "".join(lines)
    del lines[setting.index]
    span = _section_span(lines, SECTION)
    if drop_empty_section and span and not any(line.strip() for line in lines[span[0] + 1:span[1]]):
        del lines[span[0]:span[1]]
        if span[0] > 0 and span[0] == len(lines) and not lines[-1].strip():
            del lines[-1]
    return "".join(lines)
