#!/usr/bin/python3
"""The local HEASARC's knobs, faults, request log and archive proxy, seen from plain clients
(http.client and raw sockets): what the mount tests rely on when they inject trouble.

Starts its own local HEASARC on port 0 (scripts/heasarc_kit) and stops it;
two tests start extra ones to check that SIGTERM/SIGKILL leave no Apache behind.
"""

import hashlib
import http.client
import json
import os
import re
import signal
import socket
import sys
import time
import unittest
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from heasarc_kit import SOURCE_DIR, LocalHeasarc    # noqa: E402

SAMPLES = SOURCE_DIR / "tests" / "data" / "samples"
OBSID = "60001111003"
OBS_DIR = f"/FTP/nustar/data/obs/00/6//{OBSID}/"

H: LocalHeasarc | None = None
FILES: dict[str, tuple[int, str]] = {}     # url path -> (size, sha256), under OBS_DIR
BIG = ""                                  # the largest file of the obsid


def setUpModule():
    global H, BIG
    H = LocalHeasarc().start()
    data = Path(H._control("")["data"])
    prefix = f"FTP/nustar/data/obs/00/6/{OBSID}/"
    for line in (data / "manifest.tsv").read_text().splitlines():
        path, size, sha = line.split("\t")
        path = path.replace("//", "/")
        if path.startswith(prefix):
            FILES[OBS_DIR + path[len(prefix):]] = (int(size), sha)
    BIG = max(FILES, key=lambda p: FILES[p][0])


def tearDownModule():
    if H is not None:
        H.stop()


def conn(timeout=30) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", H.port, timeout=timeout)


def get(path, headers=None, method="GET", timeout=30):
    c = conn(timeout)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, dict(r.getheaders()), body
    finally:
        c.close()


def raw_get(path: str, extra: bytes = b"", timeout=30):
    """(status line, headers dict, body bytes received, exception or None) over a raw socket."""
    s = socket.create_connection(("127.0.0.1", H.port), timeout=timeout)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{H.port}\r\n".encode() + extra
                  + b"\r\n")
        data, err = b"", None
        try:
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
                head, sep, body = data.partition(b"\r\n\r\n")
                if sep:
                    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                    if m and len(body) >= int(m.group(1)):
                        break
        except (ConnectionError, socket.timeout, OSError) as e:
            err = e
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return lines[0], headers, body, err
    finally:
        s.close()


class Base(unittest.TestCase):
    def setUp(self):
        H.reset()

    def tearDown(self):
        H.reset()


class Latency(Base):
    def test_latency_is_added(self):
        small = min(FILES, key=lambda p: FILES[p][0])
        t0 = time.monotonic()
        get(small)
        fast = time.monotonic() - t0
        H.set_knobs(latency_ms=400)
        for path in (small, "/cgi-bin/nph-sesame/A?ngc%204151", "/tap/capabilities"):
            t0 = time.monotonic()
            status, _, _ = get(path)
            took = time.monotonic() - t0
            self.assertEqual(status, 200)
            self.assertGreaterEqual(took, 0.4, path)
        self.assertLess(fast, 0.4)


class Rate(Base):
    def test_rate_cap_per_connection(self):
        size = FILES[BIG][0]
        n = min(size, 512 * 1024)
        H.set_knobs(rate_kib=256)
        t0 = time.monotonic()
        status, headers, body = get(BIG, {"Range": f"bytes=0-{n - 1}"})
        took = time.monotonic() - t0
        self.assertEqual(status, 206)
        self.assertEqual(len(body), n)
        rate = n / 1024 / took
        print(f"  rate cap 256 KiB/s: measured {rate:.0f} KiB/s over {n} bytes", file=sys.stderr)
        self.assertGreater(rate, 256 * 0.7)
        self.assertLess(rate, 256 * 1.3)


class Faults(Base):
    def test_5xx(self):
        H.set_knobs(fault="5xx")
        for path in (BIG, "/tap/capabilities"):
            status, headers, _ = get(path)
            self.assertEqual(status, 503, path)
            self.assertEqual(headers.get("Retry-After"), "1")

    def test_reset_mid_body(self):
        H.set_knobs(fault="reset", fault_path=re.escape(BIG))
        status, headers, body, err = raw_get(BIG)
        self.assertIn(" 200 ", status)
        self.assertEqual(int(headers["content-length"]), FILES[BIG][0])
        self.assertIsInstance(err, ConnectionResetError)
        self.assertLess(len(body), FILES[BIG][0])
        # http.client sees an error too
        H.set_knobs(fault="reset")
        c = conn()
        c.request("GET", BIG)
        r = c.getresponse()
        with self.assertRaises((ConnectionError, http.client.IncompleteRead)):
            r.read()
        c.close()

    def test_truncate_short_body_clean_close(self):
        H.set_knobs(fault="truncate")
        status, headers, body, err = raw_get(BIG)
        self.assertIn(" 200 ", status)
        self.assertEqual(int(headers["content-length"]), FILES[BIG][0])
        self.assertIsNone(err)                       # a clean FIN, not a reset
        self.assertGreater(len(body), 0)
        self.assertLess(len(body), FILES[BIG][0])
        c = conn()
        c.request("GET", BIG)
        with self.assertRaises(http.client.IncompleteRead):
            c.getresponse().read()
        c.close()

    def test_ignore_range(self):
        H.set_knobs(fault="ignore_range")
        status, headers, body = get(BIG, {"Range": "bytes=0-99"})
        self.assertEqual(status, 200)
        self.assertEqual(len(body), FILES[BIG][0])
        H.clear_knobs()
        status, headers, body = get(BIG, {"Range": "bytes=0-99"})
        self.assertEqual((status, len(body)), (206, 100))

    def test_hang(self):
        H.set_knobs(fault="hang", fault_path=re.escape(BIG))
        s = socket.create_connection(("127.0.0.1", H.port), timeout=1.5)
        s.sendall(f"GET {BIG} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        t0 = time.monotonic()
        with self.assertRaises(socket.timeout):
            s.recv(1)
        self.assertGreaterEqual(time.monotonic() - t0, 1.4)
        s.close()
        # everything else still answers meanwhile
        self.assertEqual(get("/tap/capabilities")[0], 200)

    def test_fault_count_and_skip_second_get_fails(self):
        target = OBS_DIR + "pipe.log" if OBS_DIR + "pipe.log" in FILES else BIG
        H.set_knobs(fault="5xx", fault_path=re.escape(target), fault_skip=1, fault_count=1)
        other = min((p for p in FILES if p != target), key=lambda p: FILES[p][0])
        self.assertEqual(get(other)[0], 200)                 # not matching: untouched
        self.assertEqual(get(target)[0], 200)                # 1st: skipped
        self.assertEqual(get(target)[0], 503)                # 2nd: the fault
        self.assertEqual(get(target)[0], 200)                # 3rd: count used up
        self.assertEqual(H.knobs()["fault"], "none")
        faults = [e["fault"] for e in H.requests_for(re.escape(target) + "$")]
        self.assertEqual(faults, [None, "5xx", None])

    def test_fault_probability_and_mix(self):
        small = min(FILES, key=lambda p: FILES[p][0])
        H.set_knobs(fault="5xx", fault_path=re.escape(small), fault_probability=0.25)
        statuses = [get(small)[0] for _ in range(200)]
        # Binomial(200, 0.25): mean 50, sd 6.1; these bounds are 5 sd away.
        self.assertTrue(20 <= statuses.count(503) <= 80, statuses.count(503))
        self.assertEqual(statuses.count(503) + statuses.count(200), 200)
        # The server logs a request once its answer is sent, so the last of the 200 may land
        # just after the client has it: clear the log only when all 200 are in it.
        deadline = time.monotonic() + 30
        while len(H.requests_for(re.escape(small) + "$")) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(len(H.requests_for(re.escape(small) + "$")), 200)
        H.clear_log()
        H.set_knobs(fault="mix", fault_probability=1)
        for _ in range(40):
            try:
                get(small, {"Range": "bytes=0-9"})
            except (OSError, http.client.HTTPException):
                pass                                          # reset or truncated: expected
        kinds = {e["fault"] for e in H.requests_for(re.escape(small) + "$")}
        self.assertTrue(kinds <= {"5xx", "reset", "truncate", "ignore_range"}, kinds)
        self.assertGreaterEqual(len(kinds), 3, kinds)

    def test_prefix_fault_path(self):
        H.set_knobs(fault="5xx", fault_path="/xamin/")
        self.assertEqual(get("/xamin/vo/datalink/numaster?ID=" + OBSID)[0], 503)
        self.assertEqual(get("/tap/capabilities")[0], 200)

    def test_bad_knobs_are_refused(self):
        for payload in ({"fault": "explode"}, {"nope": 1}, {"latency_ms": -1},
                        {"fault_path": "("}, {"fault_probability": 2}, {"cone_body_bytes": -1},
                        {"cone_body_bytes": "big"}):
            req = urllib.request.Request(H.control + "knobs", data=json.dumps(payload).encode(),
                                         method="POST")
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(req, timeout=10)
            self.assertEqual(cm.exception.code, 400)


class ConeBodyBytes(Base):
    CONE = ("/xamin/vo/cone?showoffsets&table=numaster&&RA=182.63573&DEC=39.40584&SR=1.0&VERB=2")

    def rows(self, body: bytes) -> list:
        ns = "{http://www.ivoa.net/xml/VOTable/v1.3}"
        return [[td.text for td in tr] for tr in ET.fromstring(body).iter(ns + "TR")]

    def test_pads_a_cone_answer_to_exactly_n_bytes(self):
        status, _, plain = get(self.CONE)
        self.assertEqual(status, 200)
        real = self.rows(plain)
        self.assertTrue(real)
        for size in (len(plain) + 1, len(plain) + 1000, 1 << 20):
            H.set_knobs(cone_body_bytes=size)
            status, headers, body = get(self.CONE)
            self.assertEqual((status, len(body), int(headers["Content-Length"])), (200, size, size))
            rows = self.rows(body)   # well-formed, the real rows first, then PAD<n> copies of the first
            self.assertEqual(rows[:len(real)], real)
            pads = rows[len(real):]
            if size < len(plain) + 1000:      # too little for a row: blanks only
                self.assertEqual(pads, [])
                continue
            self.assertTrue(pads)
            key = pads[0].index("PAD000000000000")   # obsid
            self.assertEqual([f"PAD{i:012d}" for i in range(len(pads))], [r[key] for r in pads])
            for r in pads:
                self.assertEqual(r[:key] + r[key + 1:], real[0][:key] + real[0][key + 1:])
        # An answer already longer is sent as it is; 0 is off.
        for size in (len(plain) - 1, 0):
            H.set_knobs(cone_body_bytes=size)
            self.assertEqual(get(self.CONE)[2], plain)


class Proxy(Base):
    def test_range_head_etag_last_modified_keepalive(self):
        size, sha = FILES[BIG]
        c = conn()
        c.request("HEAD", BIG)
        r = c.getresponse()
        r.read()
        sock = c.sock
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.getheader("Content-Length")), size)
        etag, lm = r.getheader("ETag"), r.getheader("Last-Modified")
        self.assertTrue(etag and lm)
        self.assertEqual(r.getheader("Accept-Ranges"), "bytes")
        self.assertIsNone(r.getheader("Content-Encoding"))

        c.request("GET", BIG, headers={"Range": "bytes=10-1033"})
        r = c.getresponse()
        part = r.read()
        self.assertEqual(r.status, 206)
        self.assertEqual(r.getheader("Content-Range"), f"bytes 10-1033/{size}")
        self.assertEqual(len(part), 1024)

        c.request("GET", BIG, headers={"If-None-Match": etag})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 304)
        c.request("GET", BIG, headers={"If-Modified-Since": lm})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 304)
        c.request("GET", BIG, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
        r = c.getresponse()
        body = r.read()
        self.assertEqual((r.status, len(body)), (200, size))
        self.assertEqual(hashlib.sha256(body).hexdigest(), sha)

        # tail of the file by suffix range matches the bytes of the full body
        c.request("GET", BIG, headers={"Range": "bytes=-100"})
        r = c.getresponse()
        self.assertEqual(r.read(), body[-100:])
        self.assertIs(c.sock, sock, "the proxy kept the connection alive")
        c.close()
        clients = {e["client"] for e in H.log()}
        self.assertEqual(len(clients), 1, clients)

    def test_archive_validators_off_strips_etag_and_last_modified(self):
        size, _ = FILES[BIG]
        H.set_knobs(archive_validators=False)
        for method, headers in (("HEAD", {}), ("GET", {"Range": "bytes=0-99"})):
            status, got, body = get(BIG, headers=headers, method=method)
            lower = {k.lower(): v for k, v in got.items()}
            self.assertIn(status, (200, 206))
            self.assertNotIn("etag", lower)
            self.assertNotIn("last-modified", lower)
        self.assertEqual(int({k.lower(): v for k, v in get(BIG, method="HEAD")[1].items()}["content-length"]), size)
        H.set_knobs(archive_validators=True)
        _, got, _ = get(BIG, method="HEAD")
        self.assertIn("etag", {k.lower() for k in got})

    def test_gz_bytes_exact_no_content_encoding(self):
        gz = [p for p in FILES if p.endswith(".gz")]
        self.assertTrue(gz)
        for path in gz[:4]:
            for accept in ("gzip, deflate", "identity"):
                status, headers, body = get(path, {"Accept-Encoding": accept})
                self.assertEqual(status, 200)
                self.assertNotIn("Content-Encoding", headers)
                self.assertEqual(len(body), FILES[path][0])
                self.assertEqual(hashlib.sha256(body).hexdigest(), FILES[path][1])

    def test_double_slash_and_single_slash(self):
        path = min(FILES, key=lambda p: FILES[p][0])
        single = path.replace("//", "/")
        self.assertEqual(get(path)[2], get(single)[2])

    def test_missing_slash_redirects_here(self):
        status, headers, _ = get(OBS_DIR.rstrip("/"))
        self.assertEqual(status, 301)
        self.assertTrue(headers["Location"].startswith(H.base + "/FTP/"), headers["Location"])

    def test_autoindex_page_shape(self):
        status, headers, body = get(OBS_DIR)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        page = body.decode()
        sample = (SAMPLES / "heasarc_FTP_nustar_obs_index.html").read_text()
        sample_lines = sample.splitlines()
        lines = page.splitlines()
        self.assertEqual(lines[0], sample_lines[0])          # the HTML 3.2 DOCTYPE
        self.assertIn(f"<title>Index of /FTP/nustar/data/obs/00/6/{OBSID}</title>", page)
        self.assertIn(f"<h1>Index of /FTP/nustar/data/obs/00/6/{OBSID}</h1>", page)
        head = next(l for l in lines if l.startswith("<pre>"))
        sample_head = next(l for l in sample_lines if l.startswith("<pre>"))
        self.assertEqual(head, sample_head.replace("/FTP/nustar/data/obs/00/8/",
                                                   "/FTP/nustar/data/obs/00/6/"))
        entry = re.compile(r'^<img src="/icons/[a-z0-9.]+" alt="(\[DIR\]|\[TXT\]|\[   \])"> '
                           r'<a href="([^"]+)">([^<]+)</a> +(\d{4}-\d\d-\d\d \d\d:\d\d) +'
                           r'(-|\d+(\.\d)?[KMG]?) +$')
        entries = [l for l in lines if l.startswith("<img") and "PARENTDIR" not in l]
        self.assertTrue(entries)
        date_cols = set()
        names = []
        for line in entries:
            m = entry.match(line)
            self.assertTrue(m, line)
            self.assertEqual(m.group(2), m.group(3))
            names.append(m.group(2))
            visible = re.sub(r"<[^>]+>", "", line)
            date_cols.add(visible.index(m.group(4)))
        self.assertEqual(len(date_cols), 1, "dates in one column")
        self.assertIn("auxil/", names)
        self.assertIn("event_cl/", names)
        self.assertTrue(any(n.endswith(".cat.gz") for n in names))
        for line in entries:
            if "cat.gz" in line:
                self.assertIn('src="/icons/compressed.gif" alt="[   ]"', line)
            if "pipe.log" in line:
                self.assertIn('src="/icons/text.gif" alt="[TXT]"', line)
        self.assertTrue(page.endswith("<hr></pre>\n</body></html>\n"))
        # sort links work (wget follows them)
        self.assertEqual(get(OBS_DIR + "?C=N;O=D")[0], 200)
        self.assertEqual(get("/icons/folder.gif")[0], 200)

    # The server's throughput is the benchmark's business (scripts/bench, case `ceiling`: 1, 8
    # and 16 parallel range GETs against the per-connection cap), not a timed test's.


class RequestLog(Base):
    def test_log_counts_and_bytes(self):
        small = sorted(FILES, key=lambda p: FILES[p][0])[:2]
        H.reset()
        get(small[0])
        get(small[0], {"Range": "bytes=0-9"})
        get(small[1], method="HEAD")
        get("/xamin/vo/datalink/numaster?ID=" + OBSID)
        log = H.log()
        self.assertEqual([e["path"] for e in log],
                         [small[0], small[0], small[1], "/xamin/vo/datalink/numaster?ID=" + OBSID])
        self.assertEqual([e["method"] for e in log], ["GET", "GET", "HEAD", "GET"])
        self.assertEqual([e["status"] for e in log], [200, 206, 200, 200])
        self.assertEqual(log[0]["bytes"], FILES[small[0]][0])
        self.assertEqual(log[1]["bytes"], min(10, FILES[small[0]][0]))
        self.assertEqual(log[1]["range"], "bytes=0-9")
        self.assertEqual(log[2]["bytes"], 0)
        self.assertEqual([e["service"] for e in log], ["archive"] * 3 + ["datalink"])
        for e in log:
            self.assertGreaterEqual(e["duration"], 0)
            self.assertGreater(e["time"], 1e9)
        self.assertEqual(H.bytes_for(re.escape(small[0])), log[0]["bytes"] + log[1]["bytes"])
        # the same lines went to --request-log
        lines = [json.loads(l) for l in Path(H.request_log).read_text().splitlines()]
        self.assertEqual(lines[-4:], log)
        # control requests are not logged
        H.knobs()
        self.assertEqual(len(H.log()), 4)


class Lifecycle(unittest.TestCase):
    def apache_pids(self, h: LocalHeasarc) -> tuple[int, str]:
        info = h._control("")
        pid = info["apache_pid"]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        conf = cmdline[cmdline.index(b"-f") + 1].decode()
        return pid, conf

    def processes_with(self, needle: str) -> list[int]:
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if needle.encode() in (d / "cmdline").read_bytes():
                        out.append(int(d.name))
                except OSError:
                    pass
        return out

    def wait_gone(self, needle: str, seconds: float) -> list[int]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            left = self.processes_with(needle)
            if not left:
                return []
            time.sleep(0.1)
        return self.processes_with(needle)

    def test_sigterm_leaves_no_apache(self):
        h = LocalHeasarc().start()
        try:
            pid, conf = self.apache_pids(h)
            self.assertTrue(self.processes_with(conf))
            h.proc.send_signal(signal.SIGTERM)
            self.assertEqual(h.proc.wait(timeout=30), 0)
            self.assertEqual(self.wait_gone(conf, 5), [])
            self.assertFalse(Path(conf).exists(), "temp config dir removed")
        finally:
            h.stop()

    def test_sigkill_of_parent_leaves_no_apache(self):
        h = LocalHeasarc().start()
        try:
            pid, conf = self.apache_pids(h)
            os.kill(h.proc.pid, signal.SIGKILL)      # no chance to clean up: PDEATHSIG does
            h.proc.wait(timeout=10)
            self.assertEqual(self.wait_gone(conf, 15), [])
        finally:
            h.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
