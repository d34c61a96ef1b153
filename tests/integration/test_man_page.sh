#!/usr/bin/env bash
# heasarcfs(1): built from docs/heasarcfs.1.scd by the build, installed by `cmake --install`
# into share/man/man1, rendered by `man -l` with its sections, every -o option of --help and
# every errno the README's troubleshooting names.
set -euo pipefail
build=${HEASARCFS_BUILD_DIR:-$(dirname "$0")/../../build}
bin=${HEASARCFS_BIN:-$build/heasarcfs}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -s "$build/heasarcfs.1" ] || fail "the build made no $build/heasarcfs.1"
export MANWIDTH=100
man -l "$build/heasarcfs.1" >"$work/page.txt" 2>"$work/man.err" || fail "man -l failed: $(cat "$work/man.err")"
[ ! -s "$work/man.err" ] || fail "man -l complained: $(cat "$work/man.err")"
head -1 "$work/page.txt" | grep -q '^heasarcfs(1)' || fail "first line is not heasarcfs(1): $(head -1 "$work/page.txt")"
for section in NAME SYNOPSIS DESCRIPTION PATHS OPTIONS 'MOUNT OPTIONS' MOUNTING UNMOUNTING \
               'WITHOUT ROOT, WITHOUT MOUNT(2), WITHOUT FUSE' 'EXIT STATUS' ERRORS FILES 'SEE ALSO'; do
  grep -qx "$section" "$work/page.txt" || fail "no section '$section'"
done
echo "ok: sections"
# Every -o option --help lists is in the page: the first column of each option line, or each
# name of the comma lists ("allow_other, allow_root, ...: passed to FUSE").
options=$("$bin" --help | sed -n '/^Options (-o):/,$p' | tail -n +2 |
          sed -E 's/^  //; s/  +.*$//; s/: .*$//' | tr ',' '\n' | sed -E 's/^ +//; s/ +$//; s/=.*$//; s/\*$//' |
          grep -v '^$' | sort -u)
[ "$(echo "$options" | wc -w)" -ge 25 ] || fail "found too few options in --help: $options"
for option in $options; do
  grep -qwF -- "$option" "$work/page.txt" || fail "option '$option' of --help is not in the man page"
done
echo "ok: all $(echo "$options" | wc -w) options of --help are documented"
for word in ENOENT EIO ETIMEDOUT ESTALE EROFS EACCES EINTR 'fusermount3 -u -z' 'unshare -rm' '/dev/fd/N' \
            'heasarcfs ls' 'heasarcfs cat' 'heasarcfs cp' 'mount -t fuse.heasarcfs' fstab; do
  grep -qF -- "$word" "$work/page.txt" || fail "the page does not mention '$word'"
done
echo "ok: errors and routes"

# cmake --install puts the binary and the page where man and mount find them.
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || fail "cmake --install: $(cat "$work/install.log")"
[ -x "$work/prefix/bin/heasarcfs" ] || fail "no bin/heasarcfs in the install"
[ -s "$work/prefix/share/man/man1/heasarcfs.1.gz" ] || fail "no share/man/man1/heasarcfs.1.gz in the install"
MANPATH="$work/prefix/share/man" man heasarcfs >"$work/installed.txt" 2>&1 || fail "man heasarcfs from the install: $(cat "$work/installed.txt")"
cmp -s "$work/page.txt" "$work/installed.txt" || fail "the installed page renders differently"
"$work/prefix/bin/heasarcfs" --version | grep -q '^heasarcfs [0-9]' || fail "installed binary --version"
echo "ok: cmake --install: bin/heasarcfs, share/man/man1/heasarcfs.1.gz, man heasarcfs renders it"
echo "1 passed, 0 failed"
