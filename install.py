#!/usr/bin/env python3
"""Install the Neural Style plugin into Krita: ``python install.py`` (see --help).

This file is only the entry point and is kept to syntax that even very old Pythons can
parse, so that running it with one prints a clear message instead of a SyntaxError.
The installer itself lives in the ``nst_installer`` package next to this file.
"""
import sys

MIN_PYTHON = (3, 9)


def unsupported_python(version_info):
    """The one-line error for a Python older than MIN_PYTHON, or None if it is fine."""
    if tuple(version_info[:2]) >= MIN_PYTHON:
        return None
    return ("error: install.py needs Python %d.%d or newer, but this is Python %d.%d.%d: "
            "run it with a newer python3" % (MIN_PYTHON + tuple(version_info[:3])))


def main(argv=None, version_info=None):
    """Check the running Python, then hand over to nst_installer.cli."""
    problem = unsupported_python(version_info or sys.version_info)
    if problem:
        sys.stderr.write(problem + "\n")
        return 2
    from nst_installer.cli import main as run
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
