"""What a painter reads when something is wrong: one plain line naming the problem and the fix.

Stdlib and nst_core's torch-free plan only (used on both sides). Engine problems
(``nst_core.NSTError``) already carry such sentences and are passed through unchanged by the
worker.
"""
from __future__ import annotations

from nst_core.schedule import NBSP, format_seconds  # noqa: F401 (torch-free; the same words as Krita's)

TITLE = "Neural Style Transfer"
#: said after Cancel (in the progress window and GIMP's progress text), as Krita says it
CANCELLED = "Cancelled — nothing in the image was changed."


class PluginError(Exception):
    """A problem the painter can act on; ``str()`` is the whole message."""


def no_style() -> PluginError:
    return PluginError("No style image is chosen: pick a painting in 'Style file' and try again.")


def style_file_missing(path: str) -> PluginError:
    return PluginError(f"The style image '{path}' does not exist: choose another file.")


def indexed_image() -> PluginError:
    return PluginError("The image is indexed (a palette image), which style transfer cannot read: "
                       "convert it with Image ▸ Mode ▸ RGB and try again.")


def no_layer() -> PluginError:
    return PluginError("No layer is selected: click the layer to style in the Layers dialog and try again.")


def not_a_layer(name: str) -> PluginError:
    return PluginError(f"'{name}' is a channel or a layer mask, not a layer: "
                       "select the layer itself in the Layers dialog and try again.")


def empty_layer(name: str) -> PluginError:
    return PluginError(f"The layer '{name}' is empty (fully transparent): paint on it or pick another layer.")


def selection_misses(name: str) -> PluginError:
    return PluginError(f"The selection does not cover any pixel of the layer '{name}': "
                       "change the selection (or Select ▸ None) and try again.")


def regions_need_selection() -> PluginError:
    return PluginError("Regions from the selection need a selection: select the area first, or choose "
                       "'One painting everywhere' in Regions.")


def no_second_painting() -> PluginError:
    return PluginError("Choose the second painting, for the area outside the selection.")


def no_channels() -> PluginError:
    return PluginError("The image has no saved selections: save one per region (Select ▸ Save to Channel) "
                       "and name each after its painting, e.g. 'starry_night' for starry_night.jpg.")


def no_painting_for_channel(name: str) -> PluginError:
    return PluginError(f"No painting found for the channel '{name}': name it like a painting file "
                       "(e.g. 'starry_night' for starry_night.jpg) in the folder of the chosen painting.")


def regions_not_for_animation() -> PluginError:
    return PluginError("Regions and 'As one animation' cannot be used together: choose 'One painting "
                       "everywhere' in Regions, or turn the animation off.")


def style_layer_is_target(name: str) -> PluginError:
    return PluginError(f"The layer '{name}' is the painting and cannot also be styled: select another layer "
                       "to style, or choose another painting.")


def style_layer_gone() -> PluginError:
    return PluginError("The layer chosen as the painting no longer exists: choose another one, or 'none' "
                       "to use the style file.")


def empty_style_layer(name: str) -> PluginError:
    return PluginError(f"The painting layer '{name}' is empty (fully transparent): choose another layer.")


def layer_gone(name: str) -> PluginError:
    return PluginError(f"The layer '{name}' was deleted while it was being styled, so no result was added for it.")


def engine_not_installed(detail: str) -> PluginError:
    return PluginError(f"The style-transfer engine is not set up for GIMP ({detail}): run "
                       "'python3 install.py --gimp' from the project folder, then restart GIMP.")


def engine_crashed(detail: str) -> PluginError:
    text = f" ({detail})" if detail else ""
    return PluginError(f"The style-transfer engine stopped unexpectedly{text}. Nothing in the image was changed; "
                       "run 'python3 install.py --gimp --check' to test the set-up.")


def out_of_memory() -> PluginError:
    return PluginError("Style transfer ran out of memory: retry with a smaller working size (Advanced ▸ Size).")


def unexpected(error: BaseException) -> PluginError:
    return PluginError(f"Style transfer failed unexpectedly ({type(error).__name__}: {error}). "
                       "Nothing in the image was changed; please report this with the steps that led to it.")
