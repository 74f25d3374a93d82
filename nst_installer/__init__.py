"""Installer for the Neural Style Krita plugin (stdlib only, Python 3.9+).

``python install.py`` is the entry point; :mod:`installer.cli` holds the commands.
The package is split by concern so each part can be tested on its own:
where Krita keeps things (:mod:`.host`, :mod:`.krita`), editing ``kritarc``
(:mod:`.kritarc`), copying files (:mod:`.files`), Python dependencies
(:mod:`.deps`), the install record (:mod:`.manifest`) and ``--check``
(:mod:`.check`).
"""

__version__ = "1.0.0"

#: The pykrita module name; Krita enables it through ``[python] enable_<name>=true``.
PLUGIN_NAME = "neural_style"
#: the folder inside the installed package with the example paintings (plugin/settings.py: PAINTINGS)
PAINTINGS = "paintings"
