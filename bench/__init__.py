"""Benchmark of nst_core: speed per step, peak memory, the peer ``pastiche`` on the same
objective, time to quality judged by one VGG19, and the fast paths one by one.

Run from the repository root::

    .venv/bin/python -m bench                 # full run (~20 min on 2 CPU cores), writes BENCHMARKS.md
    .venv/bin/python -m bench --quick         # a few minutes, prints only
    .venv/bin/python -m bench --tiny          # seconds: 64 px, 2 steps (the test's smoke run)

Every measured configuration runs in a fresh subprocess (``python -m bench.worker``),
so peak RSS and CUDA peak memory belong to that configuration alone.
"""
