#!/usr/bin/env bash
# Run a Krita of another version in its test chroot, built by scripts/setup-krita.sh:
#   bash scripts/krita.sh 6.0 --nosplash
# runs `krita ARGS…` in .krita/VERSION/root as the user painter (HOME=/home/painter), under
# an Xvfb of its own, with /proc, /dev and /sys mounted — in a private mount and network
# namespace, so nothing stays mounted afterwards and the X display cannot meet another
# one on this machine. NST_KRITA_PROGRAM=kritarunner runs that instead of krita;
# NST_KRITA_SCREEN sets the screen (default 1280x1024x24), NST_KRITA_TIMEOUT the time
# limit in seconds (default 600). Variables named NST_*, PYTHONPATH and QT_QPA_PLATFORM
# are passed on; paths in them and in ARGS are paths inside the chroot. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:?usage: bash scripts/krita.sh VERSION [KRITA ARGS...]}
shift
ROOT=$(pwd -P)/.krita/$VERSION/root
[ -x "$ROOT/usr/bin/krita" ] || { echo "krita.sh: no Krita $VERSION chroot; run bash scripts/setup-krita.sh $VERSION first" >&2; exit 3; }
[ "$(id -u)" = 0 ] || { echo "krita.sh: needs root (chroot)" >&2; exit 3; }
owner=$(chroot "$ROOT" id -u painter):$(chroot "$ROOT" id -g painter)

pass=()
while IFS= read -r name; do
  case "$name" in NST_KRITA_*) ;; NST_*|PYTHONPATH|QT_QPA_PLATFORM) pass+=("$name=${!name}") ;; esac
done < <(compgen -e)

# As painter inside the chroot: Xvfb on a display of our own, wait for its socket, the
# program under the time limit, then stop Xvfb. Krita may crash while quitting, which is why
# the tests read their results from a file, not from the exit status.
in_chroot='mkdir -p -m 700 "$XDG_RUNTIME_DIR"
Xvfb "$DISPLAY" -screen 0 "$NST_SCREEN" -nolisten tcp -noreset >"/tmp/xvfb$DISPLAY.log" 2>&1 &
xvfb=$!
socket=/tmp/.X11-unix/X${DISPLAY#:}
for i in $(seq 100); do [ -e "$socket" ] && break; sleep 0.1; done
[ -e "$socket" ] || { echo "krita.sh: Xvfb did not start" >&2; cat "/tmp/xvfb$DISPLAY.log" >&2; exit 3; }
cd /home/painter
timeout -k 10 "$NST_LIMIT" "$0" "$@"; rc=$?
kill $xvfb 2>/dev/null; wait $xvfb 2>/dev/null
exit $rc'
# In the private namespaces, as root: the mounts (gone when the namespace ends), then the above.
namespaced='root=$1 owner=$2 nvars=$3; shift 3
vars=("${@:1:$nvars}"); shift "$nvars"
script=$1; shift
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mkdir -p "$root/tmp/.X11-unix"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp/.X11-unix"
display=$(( 100 + $$ % 800 ))
exec chroot --userspec="$owner" "$root" env -i HOME=/home/painter USER=painter LOGNAME=painter LANG=C.UTF-8 \
  PATH=/usr/local/bin:/usr/bin:/bin DISPLAY=:$display XDG_RUNTIME_DIR=/tmp/runtime-painter-$display \
  "${vars[@]}" sh -c "$script" "$@"'
pass+=("NST_SCREEN=${NST_KRITA_SCREEN:-1280x1024x24}" "NST_LIMIT=${NST_KRITA_TIMEOUT:-600}")
exec unshare --mount --net --propagation private --fork bash -c "$namespaced" krita.sh \
  "$ROOT" "$owner" "${#pass[@]}" "${pass[@]}" "$in_chroot" "${NST_KRITA_PROGRAM:-krita}" "$@"
