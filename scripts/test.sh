#!/usr/bin/env bash
# Set up (once), then run every test: the engine, the CLI, the installer, the benchmark
# smoke test, the Krita plugin inside real Krita (kritarunner and Xvfb) and the GIMP 3
# plug-in inside real GIMP 3 (batch and Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# GIMP 3 in a Debian 13 chroot (cached in /var/cache/nst-gimp); exit 3 = cannot be built
# here (no root, no debootstrap), and the GIMP tests then skip saying why.
bash scripts/setup-gimp.sh || [ $? = 3 ]
exec .venv/bin/python -m pytest -q "$@"
