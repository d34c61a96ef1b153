# Source me from a bash integration test: a private local HEASARC for the test's lifetime.
#
#   source "$(dirname "$0")/heasarc_fixture.sh"
#   start_local_heasarc [extra local-heasarc args...]   # port 0, its own process group
#   # exported: REGISTRY RESOLVER ARCHIVE CONTROL HEASARC_BASE (http://127.0.0.1:PORT)
#   #           LOCAL_HEASARC_PID LOCAL_HEASARC_LOG (request log, JSON lines) LOCAL_HEASARC_TMP
#   heasarc_knobs '{"fault":"5xx","fault_count":1}'     # POST knobs (JSON), prints the result
#   heasarc_reset                                       # clear knobs and the request log
#   stop_local_heasarc                                  # also run by the EXIT/INT/TERM trap
#
# A test that needs its own EXIT trap should call stop_local_heasarc from it (the fixture's
# trap is replaced by the test's). Uses Debian's /usr/bin/python3; data dir as local-heasarc's
# default ($HEASARC_DATA or <repo>/build/heasarc-data, generated on first use).

HEASARCFS_SOURCE_DIR=${HEASARCFS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LOCAL_HEASARC_PID=""
LOCAL_HEASARC_TMP=""

start_local_heasarc() {
  LOCAL_HEASARC_TMP=$(mktemp -d /tmp/heasarc-fixture-sh.XXXXXX)
  LOCAL_HEASARC_LOG=$LOCAL_HEASARC_TMP/requests.jsonl
  local out=$LOCAL_HEASARC_TMP/stdout err=$LOCAL_HEASARC_TMP/stderr
  trap stop_local_heasarc EXIT
  trap 'stop_local_heasarc; exit 130' INT
  trap 'stop_local_heasarc; exit 143' TERM
  setsid /usr/bin/python3 "$HEASARCFS_SOURCE_DIR/scripts/local-heasarc" --port 0 \
    --request-log "$LOCAL_HEASARC_LOG" "$@" >"$out" 2>"$err" </dev/null &
  LOCAL_HEASARC_PID=$!
  local i
  for i in $(seq 1 6000); do            # up to 10 min: the first run may generate the data
    grep -qx ready "$out" 2>/dev/null && break
    if ! kill -0 "$LOCAL_HEASARC_PID" 2>/dev/null; then
      echo "local-heasarc exited before ready:" >&2; cat "$err" >&2
      LOCAL_HEASARC_PID=""; return 1
    fi
    sleep 0.1
  done
  if ! grep -qx ready "$out"; then
    echo "local-heasarc not ready in time" >&2; cat "$err" >&2; stop_local_heasarc; return 1
  fi
  REGISTRY=$(sed -n 's/^registry=//p' "$out")
  RESOLVER=$(sed -n 's/^resolver=//p' "$out")
  ARCHIVE=$(sed -n 's/^archive=//p' "$out")
  CONTROL=$(sed -n 's/^control=//p' "$out")
  HEASARC_BASE=${REGISTRY%/tap}
  export REGISTRY RESOLVER ARCHIVE CONTROL HEASARC_BASE LOCAL_HEASARC_PID LOCAL_HEASARC_LOG LOCAL_HEASARC_TMP
}

stop_local_heasarc() {
  local pid=$LOCAL_HEASARC_PID
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true     # the whole group, if anything is left
    wait "$pid" 2>/dev/null || true
    LOCAL_HEASARC_PID=""
  fi
  if [ -n "$LOCAL_HEASARC_TMP" ]; then
    rm -rf "$LOCAL_HEASARC_TMP"
    LOCAL_HEASARC_TMP=""
  fi
}

heasarc_knobs() {
  curl -sS --fail -X POST -H 'Content-Type: application/json' --data "${1:-{\}}" "${CONTROL}knobs"
}

heasarc_reset() {
  curl -sS --fail -X POST "${CONTROL}reset" >/dev/null
}
