#!/usr/bin/env bash
# The tutorial's download step, verbatim: wget the DataLink directory link of obsid 60001111003
# from the local HEASARC and check the copy is that obsid's tree byte for byte (manifest.tsv:
# same files, same sha256, nothing extra). Starts and stops its own local HEASARC.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/heasarc_fixture.sh"

obsid=60001111003
work=$(mktemp -d /tmp/test_wget_mirror.XXXXXX)
cleanup() { stop_local_heasarc; rm -rf "$work"; }
start_local_heasarc
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

data=$(curl -sS --fail "$CONTROL" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["data"])')
[ -f "$data/manifest.tsv" ] || fail "no manifest.tsv in $data"

# The link exactly as the tutorial gets it: the DataLink row whose content_type is directory.
link=$(/usr/bin/python3 - "$HEASARC_BASE" "$obsid" <<'EOF'
import io, sys, warnings, requests
from astropy.io.votable import parse
base, obsid = sys.argv[1:]
r = requests.get(f"{base}/xamin/vo/datalink/numaster?ID={obsid}", timeout=30)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = parse(io.BytesIO(r.content)).get_first_table().to_table()
print(next(row["access_url"] for row in t if row["content_type"] == "directory"))
EOF
)
expected_link="$HEASARC_BASE/FTP/nustar/data/obs/00/6//$obsid/"
[ "$link" = "$expected_link" ] || fail "directory link is '$link', expected '$expected_link'"

# The tutorial's command (pyvo tutorial, wget_cmd), run in an empty directory.
cd "$work"
wget -q -nH --no-check-certificate --no-parent --cut-dirs=6 -r -l0 -c -N -np -R 'index*' \
  -erobots=off --retr-symlinks "$link" || fail "wget exited with $?"

# -nH drops the host; --cut-dirs=6 drops FTP/nustar/data/obs/00/6 and wget keeps the empty
# component of the double slash as nothing, so the tutorial user gets ./<obsid>/...
[ -d "$work/$obsid" ] || { find "$work" | head -20 >&2; fail "no ./$obsid directory"; }

# Expected: every manifest file under the obsid (manifest paths may or may not carry the //).
/usr/bin/python3 - "$data/manifest.tsv" "$obsid" "$work" <<'EOF' || exit 1
import hashlib, os, sys
manifest, obsid, work = sys.argv[1:]
prefix = f"FTP/nustar/data/obs/00/6/{obsid}/"
want = {}
for line in open(manifest, encoding="utf-8"):
    path, size, sha = line.rstrip("\n").split("\t")
    path = path.replace("//", "/")
    if path.startswith(prefix):
        want[obsid + "/" + path[len(prefix):]] = (int(size), sha)
if not want:
    sys.exit(f"FAIL: manifest has no file under {prefix}")
got = {}
for root, dirs, files in os.walk(work):
    for name in files:
        full = os.path.join(root, name)
        rel = os.path.relpath(full, work)
        h = hashlib.sha256()
        with open(full, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        got[rel] = (os.path.getsize(full), h.hexdigest())
missing = sorted(set(want) - set(got))
extra = sorted(set(got) - set(want))
bad = sorted(p for p in set(want) & set(got) if want[p] != got[p])
for p in missing:
    print("missing:", p)
for p in extra:
    print("extra:", p)
for p in bad:
    print("differs:", p, "want", want[p], "got", got[p])
if missing or extra or bad:
    sys.exit("FAIL: the wget copy is not the obsid's tree")
print(f"ok: {len(want)} files, {sum(s for s, _ in want.values())} bytes identical to manifest.tsv")
EOF

# The request log saw every file exactly once (200, whole body) and no Content-Encoding games.
/usr/bin/python3 - "$LOCAL_HEASARC_LOG" "$obsid" <<'EOF' || exit 1
import json, sys
log, obsid = sys.argv[1:]
entries = [json.loads(l) for l in open(log)]
files = [e for e in entries if e["service"] == "archive" and obsid in e["path"]
         and not e["path"].endswith("/") and "?" not in e["path"]]
if not files:
    sys.exit("FAIL: no archive file request in the request log")
bad = [e for e in files if e["status"] != 200]
if bad:
    sys.exit(f"FAIL: file requests not 200: {bad}")
paths = [e["path"] for e in files]
if len(paths) != len(set(paths)):
    sys.exit("FAIL: a file was downloaded twice")
print(f"ok: {len(files)} file GETs in the request log, {sum(e['bytes'] for e in files)} bytes")
EOF

# Run it again: -N/-c with the same server must not download any file again.
before=$(wc -l < "$LOCAL_HEASARC_LOG")
wget -q -nH --no-check-certificate --no-parent --cut-dirs=6 -r -l0 -c -N -np -R 'index*' \
  -erobots=off --retr-symlinks "$link" || fail "second wget exited with $?"
refetched=$(tail -n +"$((before + 1))" "$LOCAL_HEASARC_LOG" | /usr/bin/python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    e = json.loads(line)
    if e["method"] == "GET" and not e["path"].endswith("/") and "?" not in e["path"] and e["bytes"] > 0 and e["status"] == 200:
        n += 1
print(n)')
[ "$refetched" = 0 ] || fail "second wget -N downloaded $refetched files again"
echo "ok: second wget -N fetched nothing again"
echo "test_wget_mirror: 1 passed, 0 failed"
