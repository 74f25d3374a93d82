#!/usr/bin/env bash
# Set up (once), then run every test: the engine, the CLI, the installer, the benchmark
# smoke test, and the Krita plugin inside real Krita (kritarunner and Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
