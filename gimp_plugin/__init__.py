"""Neural Style Transfer for GIMP 3 — a thin front end over ``nst_core``.

GIMP runs Python plug-ins with its own Python (3.13 on Debian 13), which usually has no
PyTorch, so the plug-in is split in two processes:

* GIMP side (GIMP's Python, stdlib + PyGObject only): :mod:`.procedure` registers
  ``plug-in-neural-style-transfer``, :mod:`.dialog` is the GIMP dialog, :mod:`.pixels`
  reads layers and the selection through Gegl and writes result layers, :mod:`.bridge`
  starts and talks to the worker, :mod:`.npy` reads/writes ``.npy`` files without numpy.
* Engine side (a Python with torch, e.g. the environment ``install.py --gimp`` makes):
  :mod:`.worker` reads the layers' ``.npy`` files, runs :func:`nst_core.stylize`, writes
  the results, and reports progress as JSON lines on stdout.

Data flows one way: layer → ``.npy`` → worker (``nst_core``) → ``.npy`` → new layer.
"""
from nst_core.config import DEFAULT_PRESET, PRESET_HINTS, PRESETS as _ENGINE_PRESETS  # noqa: F401 (re-exported)

#: The GIMP procedure name (PDB).
PROCEDURE = "plug-in-neural-style-transfer"
#: The folder and entry script name inside GIMP's ``plug-ins`` folder.
PLUGIN_DIR = "neural_style_transfer"
#: What ``install.py --gimp`` writes beside the entry script: which Python runs the engine.
ENGINE_FILE = "engine.json"
#: The presets and their hints come from the engine's one declaration (nst_core/config.py, which
#: imports neither torch nor numpy, so GIMP's own Python can read it from the installed copy).
PRESETS = tuple(_ENGINE_PRESETS)
