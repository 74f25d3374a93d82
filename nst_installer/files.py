"""Copying the plugin into Krita's folder, safely and reversibly.

Packages are copied into a hidden staging folder first and swapped in with renames, so a
full disk or a crash mid-copy leaves the previous installation intact rather than half
of two versions. All file copies go through one ``copy_fn`` so tests can make that
single boundary fail (disk full, permission denied) without mocking anything else.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Mapping, Optional, Tuple

from .errors import PathLike, from_os_error

CopyFn = Callable[[str, str], object]

#: Byte code is rebuilt by Krita's own Python; copying ours would only add stale files.
SKIP_DIRS = frozenset({"__pycache__"})
#: byte code, and Krita's .action file: it is installed once, in actions/ — a second copy
#: inside pykrita/neural_style made Krita log "Duplicated action name"
SKIP_SUFFIXES = (".pyc", ".pyo", ".action")


def default_copy(src: str, dst: str) -> None:
    """Copy contents and permission bits (timestamps would only confuse upgrades)."""
    shutil.copyfile(src, dst)
    shutil.copymode(src, dst)


@contextlib.contextmanager
def writing(path: PathLike) -> Iterator[None]:
    """Report any OSError inside the block as a one-line error naming ``path``."""
    try:
        yield
    except OSError as error:
        raise from_os_error(error, path) from None


def make_dirs(path: Path) -> List[Path]:
    """Create ``path`` and missing parents; return the ones created, outermost first.

    Uninstall removes exactly these again (when empty), so a fresh ``$HOME`` is left as
    bare as it was.
    """
    missing: List[Path] = []
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if not missing and not path.is_dir():
        raise from_os_error(NotADirectoryError(20, "Not a directory"), path)
    created = []
    for folder in reversed(missing):
        with writing(folder):
            folder.mkdir()
        created.append(folder)
    return created


def _skipped(name: str) -> bool:
    return name in SKIP_DIRS or name.endswith(SKIP_SUFFIXES)


def copy_tree(src: Path, dst: Path, copy_fn: CopyFn = default_copy) -> None:
    """Copy the source package ``src`` to a new folder ``dst``, leaving out byte code."""
    for root, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        target = dst / Path(root).relative_to(src)
        with writing(target):
            target.mkdir(exist_ok=True)
        for name in sorted(names):
            if not _skipped(name):
                with writing(target / name):
                    copy_fn(os.path.join(root, name), str(target / name))


def staging_paths(dest: Path) -> Tuple[Path, Path]:
    """The hidden siblings used while swapping ``dest``: (new copy, previous copy)."""
    return dest.with_name(f".{dest.name}.new"), dest.with_name(f".{dest.name}.old")


def replace_tree(src: Path, dest: Path, copy_fn: CopyFn = default_copy,
                 extra_files: Optional[Mapping[str, bytes]] = None) -> None:
    """Make ``dest`` an exact copy of ``src`` (plus ``extra_files``), old files and all gone."""
    new, old = staging_paths(dest)
    remove_paths([new, old])
    try:
        copy_tree(src, new, copy_fn)
        for name, data in (extra_files or {}).items():
            with writing(new / name):
                (new / name).write_bytes(data)
    except BaseException:
        remove_paths([new], quiet=True)
        raise
    with writing(dest):
        if os.path.lexists(dest):
            os.replace(dest, old)
        os.replace(new, dest)
    remove_paths([old])


def install_file(src: Path, dest: Path, copy_fn: CopyFn = default_copy) -> None:
    """Copy one file into place atomically (a reader never sees half a .desktop file)."""
    staged = dest.with_name(f".{dest.name}.new")
    try:
        with writing(dest):
            copy_fn(str(src), str(staged))
            os.replace(staged, dest)
    finally:
        remove_paths([staged], quiet=True)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` atomically, keeping the permission bits of the file it replaces."""
    staged = path.with_name(f".{path.name}.new")
    try:
        with writing(path):
            staged.write_bytes(data)
            if path.exists():
                shutil.copymode(path, staged)
            os.replace(staged, path)
    finally:
        remove_paths([staged], quiet=True)


def remove_paths(paths: Iterable[Path], quiet: bool = False) -> None:
    """Delete files and whole folders; ``quiet`` ignores errors (cleanup after a failure)."""
    for path in paths:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
        except OSError as error:
            if not quiet:
                raise from_os_error(error, path) from None


def remove_owned(path: Path) -> None:
    """Remove something we installed, plus any staging leftovers of an interrupted run."""
    remove_paths([path, *staging_paths(path)])


def remove_empty_dirs(folders: Iterable[Path]) -> None:
    """Remove folders we created, deepest first, but only those nobody else filled since."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            continue
