#!/usr/bin/env bash
# Set up (once), then re-paint the coffee photo as Van Gogh's Starry Night at 256 px.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/python -m nst_core examples/content/coffee.png examples/style/starry_night.jpg \
  -o out/coffee_starry_night.png --size 256 --seed 0 "$@"
