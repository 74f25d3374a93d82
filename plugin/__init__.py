"""Neural Style Transfer for Krita (pykrita package ``neural_style``).

Bootstrap comes first: it blocks ``triton`` (importing it crashes Krita's GUI) and puts
the directories of ``sys_paths.txt`` on ``sys.path``, before anything can import torch.
Then the Extension is registered; torch and the engine are only imported when used.
"""
from . import bootstrap

bootstrap.install()

try:
    from krita import Krita
except ImportError:  # imported outside Krita (unit tests, tools)
    Krita = None

EXTENSION = None
if Krita is not None:
    from .extension import NeuralStyleExtension

    EXTENSION = NeuralStyleExtension(Krita.instance())
    Krita.instance().addExtension(EXTENSION)
