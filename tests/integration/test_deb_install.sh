#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` from the build makes heasarcfs_<version>_<arch>.deb that
# declares its dependencies (libfuse3-3, fuse3, libcurl4, libpugixml1v5, libgumbo1, zlib1g),
# holds /usr/bin/heasarcfs and /usr/share/man/man1/heasarcfs.1.gz; `dpkg -i` installs it into
# this machine (CI's own), `man heasarcfs` shows the page, `mount -t fuse.heasarcfs` mounts the
# local HEASARC through mount.fuse3 with the installed binary, a row copied through the mount
# equals the archive manifest, and `dpkg -r` removes it all again.
#
# One run at a time per machine (flock): the package is installed system-wide.
set -euo pipefail
build=${HEASARCFS_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
source "$(dirname "$0")/heasarc_fixture.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "dpkg -i needs root"

work=$(mktemp -d /tmp/heasarcfs-deb.XXXXXX)
installed=0
cleanup() {
  if [ -d "$work/mnt" ] && mountpoint -q "$work/mnt"; then
    fusermount3 -u "$work/mnt" 2>/dev/null || fusermount3 -u -z "$work/mnt" || true
  fi
  if [ $installed -eq 1 ]; then dpkg -r heasarcfs >/dev/null 2>&1 || true; fi
  stop_local_heasarc
  rm -rf "$work"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

exec 9>/run/lock/heasarcfs-test-deb-install.lock
flock -w 900 9 || fail "another test_deb_install holds the lock"
if dpkg-query -W -f='${Status}' heasarcfs 2>/dev/null | grep -q "install ok installed"; then
  echo "note: a heasarcfs package was installed before the test; it is replaced, then removed"
fi

# -- build and inspect the package ----------------------------------------------------------
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg") >"$work/cpack.log" 2>&1 ||
  fail "cpack -G DEB: $(tail -20 "$work/cpack.log")"
deb=$(ls "$work"/pkg/heasarcfs_*.deb)
[ -f "$deb" ] || fail "no heasarcfs_*.deb in $work/pkg"
echo "ok: built $(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for package in libfuse3-3 fuse3 libcurl4 libpugixml1v5 libgumbo1 zlib1g libstdc++6 libc6; do
  printf '%s\n' "$depends" | tr ',' '\n' | sed 's/^ *//' | grep -q "^$package\( \|$\)" ||
    fail "Depends does not name $package"
done
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for file in ./usr/bin/heasarcfs ./usr/share/man/man1/heasarcfs.1.gz; do
  printf '%s\n' "$contents" | grep -qx "$file" || fail "the package has no $file"
done
echo "ok: dependencies and files"

# -- install --------------------------------------------------------------------------------
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
installed=1
dpkg-query -W -f='${Status}' heasarcfs | grep -q "install ok installed" || fail "dpkg does not list heasarcfs installed"
/usr/bin/heasarcfs --version | grep -q '^heasarcfs [0-9]' || fail "/usr/bin/heasarcfs --version"
[ "$(man -w heasarcfs)" = /usr/share/man/man1/heasarcfs.1.gz ] || fail "man -w heasarcfs: $(man -w heasarcfs 2>&1)"
MANWIDTH=100 man heasarcfs 2>/dev/null | grep -qx "SYNOPSIS" || fail "man heasarcfs does not render"
echo "ok: installed; man heasarcfs"

# -- mount -t fuse.heasarcfs with the installed binary ------------------------------------------
start_local_heasarc
mkdir "$work/mnt"
mount -t fuse.heasarcfs heasarcfs "$work/mnt" \
  -o "ro,allow_other,registry=$REGISTRY,resolver=$RESOLVER,cache_dir=$work/cache" 2>"$work/mount.err" ||
  fail "mount -t fuse.heasarcfs: $(cat "$work/mount.err")"
grep -q " $work/mnt fuse.heasarcfs ro," /proc/self/mounts || fail "no ro fuse.heasarcfs mount on $work/mnt"
daemon=""
for pid in $(ls /proc | grep -E '^[0-9]+$'); do
  if { tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qx "$work/mnt"; then daemon=$pid; fi
done
[ -n "$daemon" ] || fail "no daemon process serving $work/mnt"
[ "$(readlink "/proc/$daemon/exe")" = /usr/bin/heasarcfs ] ||
  fail "mount.fuse3 ran $(readlink "/proc/$daemon/exe"), not the package's /usr/bin/heasarcfs"
row="$work/mnt/numaster/NGC4151/exposure_a>=50000/60001111003"
cp -r "$row" "$work/copy"
prefix=FTP/nustar/data/obs/00/6/60001111003/
data=${HEASARC_DATA:-$HEASARCFS_SOURCE_DIR/build/heasarc-data}
expected=$(awk -F'\t' -v p="$prefix" 'index($1, p) == 1 {print substr($1, length(p) + 1) "\t" $3}' "$data/manifest.tsv" | sort)
[ -n "$expected" ] || fail "the manifest has nothing under $prefix"
copied=$(cd "$work/copy" && find . -type f -printf '%P\n' | sort | while read -r f; do
  printf '%s\t%s\n' "$f" "$(sha256sum "$f" | cut -d' ' -f1)"; done)
[ "$copied" = "$expected" ] || fail "the copy differs from the archive manifest"
echo "ok: mount -t fuse.heasarcfs ran /usr/bin/heasarcfs (pid $daemon); $(printf '%s\n' "$copied" | wc -l) files copied equal the manifest"
fusermount3 -u "$work/mnt" || fail "fusermount3 -u"
for i in $(seq 600); do [ -e "/proc/$daemon" ] || break; sleep 0.05; done
[ ! -e "/proc/$daemon" ] || fail "the daemon did not exit after fusermount3 -u"

# -- remove -----------------------------------------------------------------------------------
dpkg -r heasarcfs >"$work/dpkg-r.log" 2>&1 || fail "dpkg -r: $(cat "$work/dpkg-r.log")"
installed=0
[ ! -e /usr/bin/heasarcfs ] || fail "/usr/bin/heasarcfs is left after dpkg -r"
[ ! -e /usr/share/man/man1/heasarcfs.1.gz ] || fail "the man page is left after dpkg -r"
echo "ok: dpkg -r removed the binary and the man page"
echo "1 passed, 0 failed"
