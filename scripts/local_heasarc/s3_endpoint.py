"""An S3-compatible endpoint over the archive data, path-style, as AWS open data serves the
same tree in bucket `nasa-heasarc` (key = the path after /FTP/, `//` collapsed):

  GET <base>/nasa-heasarc?list-type=2&prefix=P&delimiter=/&max-keys=N&continuation-token=T
      (also start-after, encoding-type=url)   ListObjectsV2: a ListBucketResult XML page of at
                                              most 1000 entries (Contents + CommonPrefixes)
  GET/HEAD <base>/nasa-heasarc/<key>          the object: ETag, Last-Modified, Content-Length,
                                              a single Range (206/416; multiple ranges: 200
                                              whole, as S3), If-Match/If-None-Match

Keys come from the manifest (manifest.tsv), sizes and mtimes from the files, the ETag from the
manifest's sha256 (a quoted 32-hex string shaped like S3's MD5 ETag). `handle` is the route
table's handler; the knobs apply as to any request (latency, rate cap, faults: reset/truncate
inside the body, ignore_range answers 200 with the whole object), and `s3_page_keys` caps a
listing page below AWS's 1000 entries.
"""

from __future__ import annotations

import base64
import bisect
import email.utils
import os
import threading
import time
from pathlib import Path
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from .request import Request

BUCKET = "nasa-heasarc"
PREFIX = "/" + BUCKET
MAX_KEYS = 1000
CHUNK = 1 << 20
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class KeyIndex:
    """The bucket's keys (sorted) with their sha256, from manifest.tsv; re-read when it changes."""

    def __init__(self, data_root: Path):
        self.data_root = Path(data_root)
        self._lock = threading.Lock()
        self._stamp = None
        self.keys: list[str] = []
        self.sha: dict[str, str] = {}

    def load(self) -> "KeyIndex":
        path = self.data_root / "manifest.tsv"
        with self._lock:
            try:
                stamp = path.stat().st_mtime_ns
            except OSError:
                stamp = None
            if stamp != self._stamp:
                sha = {}
                if stamp is not None:
                    with open(path, encoding="utf-8") as fh:
                        for line in fh:
                            parts = line.rstrip("\n").split("\t")
                            if len(parts) >= 3 and parts[0].startswith("FTP/"):
                                key = "/".join(p for p in parts[0][4:].split("/") if p)
                                sha[key] = parts[2]
                self.sha, self.keys, self._stamp = sha, sorted(sha), stamp
            return self

    def file(self, key: str) -> Path:
        return self.data_root / "FTP" / key


_indexes: dict[str, KeyIndex] = {}
_indexes_lock = threading.Lock()


def _index(req: Request) -> KeyIndex:
    root = str(req.app.data_root)
    with _indexes_lock:
        if root not in _indexes:
            _indexes[root] = KeyIndex(req.app.data_root)
        index = _indexes[root]
    return index.load()


def handle(req: Request) -> None:
    rest = req.path[len(PREFIX):]
    if rest in ("", "/"):
        if req.method != "GET":
            return _error(req, 405, "MethodNotAllowed", "The specified method is not allowed.")
        if req.param("list-type") != "2":
            return _error(req, 400, "InvalidArgument", "Only ListObjectsV2 (list-type=2) is served here.")
        return list_objects_v2(req)
    if req.method not in ("GET", "HEAD"):
        return _error(req, 405, "MethodNotAllowed", "The specified method is not allowed.")
    return get_object(req, unquote(rest[1:]))


def _token(item: str) -> str:
    return base64.urlsafe_b64encode(item.encode("utf-8")).decode("ascii")


def _untoken(token: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError):
        return None


def list_objects_v2(req: Request) -> None:
    index = _index(req)
    prefix = req.param("prefix") or ""
    delimiter = req.param("delimiter") or ""
    url_encoding = (req.param("encoding-type") or "") == "url"
    try:
        max_keys = min(req.knobs.get("s3_page_keys", MAX_KEYS), int(req.param("max-keys") or MAX_KEYS))
        if max_keys < 0:
            raise ValueError
    except ValueError:
        return _error(req, 400, "InvalidArgument", "max-keys must be a non-negative integer.")
    token = req.param("continuation-token")
    after = req.param("start-after") or ""
    if token is not None:
        after = _untoken(token)
        if after is None:
            return _error(req, 400, "InvalidArgument", "The continuation token provided is incorrect")

    keys = index.keys
    i = bisect.bisect_left(keys, prefix)
    if after:
        i = max(i, bisect.bisect_right(keys, after))
    contents: list[str] = []
    prefixes: list[str] = []
    last = None
    truncated = False
    while i < len(keys) and keys[i].startswith(prefix):
        key = keys[i]
        if after and delimiter and after.endswith(delimiter) and key.startswith(after):
            i += 1                   # inside the common prefix the last page ended with
            continue
        d = key.find(delimiter, len(prefix)) if delimiter else -1
        item = key if d < 0 else key[:d + len(delimiter)]
        if len(contents) + len(prefixes) == max_keys:
            truncated = True
            break
        if d < 0:
            contents.append(key)
            i += 1
        else:
            prefixes.append(item)
            # skip every key under that common prefix
            i = bisect.bisect_left(keys, item[:-1] + chr(ord(item[-1]) + 1), i)
        last = item

    def enc(s: str) -> str:
        return escape(quote(s, safe="/") if url_encoding else s)

    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<ListBucketResult xmlns="{S3_NS}">',
           f"<Name>{BUCKET}</Name><Prefix>{enc(prefix)}</Prefix>"]
    if token is not None:
        out.append(f"<ContinuationToken>{escape(token)}</ContinuationToken>")
    if req.param("start-after"):
        out.append(f"<StartAfter>{enc(req.param('start-after'))}</StartAfter>")
    out.append(f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>")
    if delimiter:
        out.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
    if url_encoding:
        out.append("<EncodingType>url</EncodingType>")
    out.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    if truncated and last is not None:
        out.append(f"<NextContinuationToken>{_token(last)}</NextContinuationToken>")
    for key in contents:
        try:
            st = os.stat(index.file(key))
        except OSError:
            continue
        out.append(f"<Contents><Key>{enc(key)}</Key><LastModified>{_iso(st.st_mtime)}</LastModified>"
                   f"<ETag>&quot;{index.sha[key][:32]}&quot;</ETag><Size>{st.st_size}</Size>"
                   "<StorageClass>STANDARD</StorageClass></Contents>")
    for p in prefixes:
        out.append(f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>")
    out.append("</ListBucketResult>")
    req.reply.respond(200, "application/xml", "".join(out).encode("utf-8"))


def get_object(req: Request, key: str) -> None:
    index = _index(req)
    if key not in index.sha:
        return _error(req, 404, "NoSuchKey", "The specified key does not exist.", key)
    path = index.file(key)
    try:
        fh = open(path, "rb")
    except OSError:
        return _error(req, 404, "NoSuchKey", "The specified key does not exist.", key)
    with fh:
        st = os.fstat(fh.fileno())
        size = st.st_size
        etag = f'"{index.sha[key][:32]}"'
        base = [("ETag", etag), ("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True)),
                ("Accept-Ranges", "bytes")]
        if_match = req.headers.get("If-Match")
        if if_match and if_match.strip() not in (etag, "*"):
            return _error(req, 412, "PreconditionFailed", "At least one of the pre-conditions you "
                          "specified did not hold")
        if_none = req.headers.get("If-None-Match")
        if if_none and if_none.strip() in (etag, "*"):
            req.reply.start(304, base)
            return
        first, last = 0, size - 1
        status = 200
        rng = None if req.reply.fault == "ignore_range" else req.headers.get("Range")
        if rng:
            parsed = _single_range(rng, size)
            if parsed == "unsatisfiable":
                return _error(req, 416, "InvalidRange", "The requested range is not satisfiable",
                              extra=[("Content-Range", f"bytes */{size}")])
            if parsed is not None:
                first, last = parsed
                status = 206
        length = max(0, last - first + 1)
        headers = [("Content-Type", "binary/octet-stream"), ("Content-Length", str(length))] + base
        if status == 206:
            headers.append(("Content-Range", f"bytes {first}-{last}/{size}"))
        req.reply.start(status, headers)
        if req.method == "HEAD":
            req.reply.end_body_if_fault(0)
            return
        cut = req.reply.cut_limit(length)
        remaining = length if cut is None else cut
        fh.seek(first)
        while remaining > 0:
            piece = fh.read(min(CHUNK, remaining))
            if not piece:
                raise ConnectionError(f"{path} shrank while being sent")
            req.reply.write(memoryview(piece))
            remaining -= len(piece)
        if cut is not None:
            req.reply.end_body(length, cut)


def _single_range(value: str, size: int):
    """(first, last) of one `bytes=` range; None to ignore it (not bytes, several ranges,
    malformed: S3 then sends the whole object); "unsatisfiable" past the end."""
    unit, _, spec = value.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    a, sep, b = spec.strip().partition("-")
    if not sep:
        return None
    try:
        if a == "":
            n = int(b)
            if n <= 0:
                return "unsatisfiable"
            return max(0, size - n), size - 1
        first = int(a)
        last = int(b) if b else size - 1
    except ValueError:
        return None
    if first < 0 or (b and last < first):
        return None
    if first >= size:
        return "unsatisfiable"
    return first, min(last, size - 1)


def _iso(mtime: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(mtime))


def _error(req: Request, status: int, code: str, message: str, key: str | None = None,
           extra=()) -> None:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message>"
            + (f"<Key>{escape(key)}</Key>" if key is not None else "")
            + "<RequestId>local</RequestId></Error>")
    req.reply.respond(status, "application/xml", body.encode("utf-8"), list(extra))
