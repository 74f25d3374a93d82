"""How many CPU threads the engine uses inside Krita, so it runs as fast as the command line.

Krita loads the system OpenMP runtime (libgomp) when it starts, long before the plugin
imports torch, so torch shares that runtime, initialised with libgomp's default wait
policy: after every parallel operation its worker threads spin for a while (300 000
rounds) instead of sleeping. ``nst_core`` asks for ``OMP_WAIT_POLICY=PASSIVE`` when it is
first to load OpenMP, as in the command line; inside Krita that comes too late, and a
painter starts Krita from a menu, not with the variable set. The spinning threads then
take the cores from the convolutions' own thread pool and from Krita itself.

libgomp keeps spinning short ("throttled", 100 rounds) whenever it manages more threads
than there are cores. So when it was started before us with the default policy
(:func:`openmp_spins`, read from ``/proc/self`` just before torch is imported), the engine uses
one OpenMP thread more than there are cores: the runtime then behaves as if passive, and
the extra thread also evens out the work when Krita keeps a core busy. Measured in
BENCHMARKS.md (``python -m bench --krita``). Elsewhere, on 4+ cores, one core is left
for Krita.
"""
from __future__ import annotations

import os
import sys

_SPINS = None


def _openmp_started_spinning() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as handle:
            if "libgomp" not in handle.read():
                return False
        with open("/proc/self/environ", "rb") as handle:
            start_env = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
    except OSError:
        return False
    policy = start_env.get(b"OMP_WAIT_POLICY", b"").strip().upper()
    return policy != b"PASSIVE" and start_env.get(b"GOMP_SPINCOUNT", b"").strip() not in (b"0",)


def note_openmp() -> None:
    """Call just before torch is imported (``engine_bridge.load``): note how OpenMP was started."""
    global _SPINS
    if "torch" not in sys.modules:  # once torch is in, nst_core may have started OpenMP (passive)
        _SPINS = _openmp_started_spinning()


def openmp_spins() -> bool:
    """Whether Krita's OpenMP runtime spins after parallel work (noted before torch was imported)."""
    return bool(_SPINS)


def engine_threads(cores: int, spins: bool) -> int:
    """OpenMP threads for the engine on ``cores`` cores."""
    if spins:
        return cores + 1  # more threads than cores: libgomp throttles its spinning
    return cores - 1 if cores >= 4 else cores  # leave a core for Krita where there are enough


def tune() -> int:
    """Set torch's thread count for running inside Krita (engine thread, after the engine is loaded)."""
    import torch

    from nst_core.vgg import winograd_available

    winograd_available()  # the convolutions' own pool is sized now, from torch's default count
    wanted = engine_threads(os.cpu_count() or 1, openmp_spins())
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    return wanted
