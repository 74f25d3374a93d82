#!/usr/bin/env python3
"""GIMP 3 entry point: ``install.py --gimp`` copies this file to
``plug-ins/neural_style_transfer/neural_style_transfer.py``, beside the ``gimp_plugin``
and ``nst_core`` packages."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gimp_plugin.plugin import main  # noqa: E402

main()
