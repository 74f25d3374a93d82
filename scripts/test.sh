#!/usr/bin/env bash
# Set up (once), then run every test: the engine, the CLI, the installer, the benchmark
# smoke test, the Krita plugin inside real Krita (kritarunner and Xvfb) and the GIMP 3
# plug-in inside real GIMP 3 (batch and Xvfb), and the plugin in Krita 5.2, 5.3 and 6.0 (chroots).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# GIMP 3 in a Debian 13 chroot (cached in /var/cache/nst-gimp); exit 3 = cannot be built
# here (no root, no debootstrap), and the GIMP tests then skip saying why.
bash scripts/setup-gimp.sh || [ $? = 3 ]
# Krita 6.0, 5.3 and 5.2 in Debian chroots (cached in /var/cache/nst-krita; Debian 12's own
# Krita 5.1 is the host's); exit 3 = cannot be built here, and those tests then skip saying why.
for version in 6.0 5.3 5.2; do
  bash scripts/setup-krita.sh "$version" || [ $? = 3 ]
done
exec .venv/bin/python -m pytest -q "$@"
