#!/usr/bin/env bash
# The command line: --help, --version, and bad options (one line naming the option, a
# non-zero exit, nothing mounted).
set -euo pipefail
bin=${HEASARCFS_BIN:-$(dirname "$0")/../../build/heasarcfs}
work=$(mktemp -d)
trap 'mountpoint -q "$work/mnt" && fusermount3 -u -z "$work/mnt"; rm -rf "$work"' EXIT
mkdir "$work/mnt"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" --help | grep -q 'registry=URL' || fail "--help does not describe the options"
"$bin" --version | grep -q '^heasarcfs [0-9]' || fail "--version"

check_bad() {
  local expect=$1; shift
  local out status=0
  out=$(timeout 20 "$bin" "$work/mnt" -f "$@" 2>&1) || status=$?
  [ $status -ne 0 ] || fail "'$*' exited 0"
  [ $status -ne 124 ] || fail "'$*' hung"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "'$*' printed more than one line: $out"
  printf '%s' "$out" | grep -qF -- "$expect" || fail "'$*' message does not name '$expect': $out"
  ! mountpoint -q "$work/mnt" || fail "'$*' mounted something"
  echo "ok: $* -> $out"
}
check_bad "colour=blue" -o colour=blue
check_bad "--frobnicate" --frobnicate
check_bad "cache_size" -o cache_size=lots
check_bad "radius" -o radius=wide
check_bad "timeout" -o timeout=0
check_bad "registry" -o registry=ftp://example.org/tap
check_bad "authority" -o authority=nasa
status=0; out=$(timeout 20 "$bin" 2>&1) || status=$?
[ $status -ne 0 ] && printf '%s' "$out" | grep -q MOUNTPOINT || fail "no mountpoint: $out"
echo "all command-line checks passed"
