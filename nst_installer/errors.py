"""One-line, actionable errors.

Every failure a user can meet is raised as :class:`InstallError`; the CLI prints it as a
single ``error: ...`` line and exits, so nobody has to read a traceback to learn that
the disk is full.
"""
from __future__ import annotations

import errno
import os
from typing import Optional, Union

PathLike = Union[str, "os.PathLike[str]"]

#: Exit status for problems with the machine or the arguments (Krita missing, bad Python).
EXIT_SETUP = 2
#: Exit status for a step that failed while running (writing files, pip).
EXIT_FAILED = 1

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}
_IN_THE_WAY = {errno.ENOTDIR, errno.EEXIST}


class InstallError(Exception):
    """A problem explained in one sentence; ``code`` is the process exit status."""

    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def disk_full(path: PathLike) -> InstallError:
    """The message for ENOSPC, shared by file copies and pip."""
    return InstallError(f"disk full while writing {path}: free some space and run install.py again")


def no_permission(path: PathLike) -> InstallError:
    """The message for EACCES/EPERM/EROFS, shared by file copies and pip."""
    return InstallError(
        f"no write permission for {path}: run install.py as the user who runs Krita "
        "(and close Krita if it is running), or choose another folder with --krita-dir"
    )


def from_os_error(error: OSError, path: Optional[PathLike] = None) -> InstallError:
    """Turn an OSError from a file operation into the matching one-line error.

    ``path`` is used when the error carries no filename (e.g. a failing write()).
    """
    where = error.filename or path or "a file"
    if error.errno in _DISK_FULL:
        return disk_full(where)
    if error.errno in _NO_PERMISSION:
        return no_permission(where)
    if error.errno in _IN_THE_WAY:
        return InstallError(f"cannot create {where}: a file is in the way; move it or pass another --krita-dir")
    reason = error.strerror or str(error)
    return InstallError(f"cannot write {where}: {reason}")
