#!/usr/bin/env bash
# The GIMP 3 test environment, built once and reused (safe to run again).
#
# Debian 12's GIMP is 2.10 without Python, so GIMP 3 runs in a Debian 13 (trixie)
# chroot. Built here:
#   $NST_GIMP_CACHE/base   trixie (debootstrap minbase) + gimp, python3-gi,
#                          gir1.2-gimp-3.0, python3-numpy — built once per machine, shared
#                          by every clone (default /var/cache/nst-gimp; ~700 MB)
#   .gimp/root             this clone's chroot: a hard-link copy of the base (instant, no
#                          extra space) plus, at the same absolute paths as here, a
#                          hard-link copy of .venv and of the Python it was made from (the
#                          engine's Python with torch: nothing to download), the project's
#                          sources, and the plug-in installed into /root's GIMP by
#                          `python3 install.py --gimp --link-env .venv`, as a user would.
# Needs root (chroot). Without it, or without debootstrap, it says so and exits 3; the
# GIMP tests then skip with that reason.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
CACHE=${NST_GIMP_CACHE:-/var/cache/nst-gimp}
MIRROR=${NST_GIMP_MIRROR:-}
BASE=$CACHE/base
BASE_MARK=$BASE/.nst-gimp-base-1
ROOT=$REPO/.gimp/root
# gimp-console-3.0/gimp-3.0 with the Python plug-in API, and xdotool to drive the GUI test
PACKAGES="gimp python3-gi gir1.2-gimp-3.0 python3-numpy xdotool"

say() { echo "setup-gimp: $*"; }
cannot() {
  say "cannot build the GIMP 3 test environment: $*"
  mkdir -p "$REPO/.gimp" && echo "$*" > "$REPO/.gimp/unavailable.txt"
  exit 3
}

[ "$(id -u)" = 0 ] || cannot "it needs root (for chroot); run it as root"
[ -x .venv/bin/python ] || cannot ".venv is missing; run bash scripts/setup.sh first"

if [ -z "$MIRROR" ]; then  # the mirror this machine's apt already uses
  MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -E '^[[:space:]]*(URIs:|deb )' | grep -oE 'https?://[^ ]+' | grep -v -- '-security' \
    | grep -E '/debian/?$' | head -n1 || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

in_chroot() {  # run a command in ROOT ($1) with a clean environment
  local root=$1; shift
  chroot "$root" env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin DEBIAN_FRONTEND=noninteractive "$@"
}

# --- 1. the shared base: trixie + GIMP 3 ------------------------------------------------
if [ ! -e "$BASE_MARK" ]; then
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap from apt"
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
      || cannot "debootstrap is not installed and apt-get could not install it"
  fi
  mkdir -p "$CACHE"
  PARTIAL=$CACHE/base.partial
  rm -rf "$PARTIAL"
  start=$SECONDS
  say "debootstrap trixie from $MIRROR into $PARTIAL (about a minute)"
  debootstrap --variant=minbase trixie "$PARTIAL" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap.log"; cannot "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  cp /etc/resolv.conf "$PARTIAL/etc/resolv.conf" 2>/dev/null || true
  say "installing $PACKAGES in the chroot (about two minutes)"
  in_chroot "$PARTIAL" apt-get update -qq > "$CACHE/apt.log" 2>&1 \
    && in_chroot "$PARTIAL" apt-get install -y -qq --no-install-recommends $PACKAGES >> "$CACHE/apt.log" 2>&1 \
    || { tail -n 20 "$CACHE/apt.log"; cannot "apt-get in the chroot failed (log: $CACHE/apt.log)"; }
  in_chroot "$PARTIAL" apt-get clean
  in_chroot "$PARTIAL" gimp-console-3.0 --version >/dev/null || cannot "gimp-console-3.0 does not run in the chroot"
  touch "$PARTIAL/.nst-gimp-base-1"
  rm -rf "$BASE"
  mv "$PARTIAL" "$BASE"
  say "base ready in $((SECONDS - start)) s: $(du -sh "$BASE" | cut -f1)"
fi

# packages added to the list later are installed into an existing base
missing=$(in_chroot "$BASE" dpkg-query -W -f='${Status} ${Package}\n' $PACKAGES 2>/dev/null \
  | grep -c '^install ok installed' || true)
if [ "$missing" != "$(echo $PACKAGES | wc -w)" ]; then
  say "adding packages to the base: $PACKAGES"
  cp /etc/resolv.conf "$BASE/etc/resolv.conf" 2>/dev/null || true
  { in_chroot "$BASE" apt-get update -qq && in_chroot "$BASE" apt-get install -y -qq --no-install-recommends $PACKAGES \
    && in_chroot "$BASE" apt-get clean; } >> "$CACHE/apt.log" 2>&1 || cannot "apt-get in the chroot failed (log: $CACHE/apt.log)"
  touch "$BASE_MARK"  # clones re-link to the changed base
fi

# --- 2. this clone's chroot: a hard-link copy of the base -------------------------------
link_copy() {  # copy a tree as hard links (instant, no space); a real copy across file systems
  local src=$1 dst=$2
  rm -rf "$dst" "$dst.partial"
  mkdir -p "$(dirname "$dst")"
  cp -al "$src" "$dst.partial" 2>/dev/null || { rm -rf "$dst.partial"; cp -a "$src" "$dst.partial"; }
  mv "$dst.partial" "$dst"
}
start=$SECONDS
base_id=$(stat -c %Y "$BASE_MARK")
if [ "$(cat "$ROOT/.nst-gimp-clone" 2>/dev/null)" != "$base_id" ]; then
  say "linking $ROOT to the base"
  link_copy "$BASE" "$ROOT"
  echo "$base_id" > "$ROOT/.nst-gimp-clone"
fi

# --- 3. the engine's Python: .venv and its base Python, at the same paths ---------------
# Hard links again, refreshed when .venv changed (pip touches site-packages and bin/).
BASE_PY=$(.venv/bin/python -c 'import sys; print(sys.base_prefix)')
stamp=$(stat -c %Y "$BASE_PY" "$BASE_PY"/lib/python3*/site-packages .venv/bin .venv/lib/python3*/site-packages | tr '\n' ' ')
if [ "$(cat "$ROOT/.nst-gimp-venv" 2>/dev/null)" != "$stamp" ]; then
  say "linking .venv and $BASE_PY into the chroot"
  for tree in "$BASE_PY" "$REPO/.venv"; do
    link_copy "$tree" "$ROOT$tree"
  done
  echo "$stamp" > "$ROOT/.nst-gimp-venv"
fi

# --- 4. the project's sources and the plug-in, installed as a user would ---------------
rm -rf "$ROOT$REPO/src.partial"
mkdir -p "$ROOT$REPO"
for item in install.py nst_installer nst_core gimp_plugin examples; do
  rm -rf "${ROOT:?}$REPO/$item"
  cp -a "$REPO/$item" "$ROOT$REPO/$item"
done
in_chroot "$ROOT" sh -c "cd '$REPO' && python3 install.py --gimp --link-env '$REPO/.venv' -q" \
  > "$REPO/.gimp/install.log" 2>&1 || { cat "$REPO/.gimp/install.log"; cannot "install.py --gimp failed in the chroot"; }
rm -f "$REPO/.gimp/unavailable.txt"
say "ready in $((SECONDS - start)) s: bash scripts/gimp.sh ARGS runs gimp-console-3.0 in $ROOT"
