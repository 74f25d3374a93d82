#!/usr/bin/env bash
# Run GIMP 3 in the test chroot built by scripts/setup-gimp.sh:
#   bash scripts/gimp.sh -i --batch-interpreter=python-fu-eval -b 'print(1)' --quit
# runs gimp-console-3.0 ARGS… with a clean environment (HOME=/root, C.UTF-8), under a
# time limit (NST_GIMP_TIMEOUT seconds, default 300). NST_GIMP_PROGRAM=gimp-3.0 with
# DISPLAY set runs the GUI instead (the X server's abstract socket is reachable from the
# chroot). Paths in ARGS are paths inside the chroot (.gimp/root/…).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)/.gimp/root
[ -x "$ROOT/usr/bin/gimp-console-3.0" ] || { echo "gimp.sh: no GIMP chroot; run bash scripts/setup-gimp.sh first" >&2; exit 3; }
exec chroot "$ROOT" env -i HOME=/root LANG=C.UTF-8 PATH=/usr/bin:/bin ${DISPLAY:+DISPLAY=$DISPLAY} \
  timeout "${NST_GIMP_TIMEOUT:-300}" "${NST_GIMP_PROGRAM:-gimp-console-3.0}" "$@"
