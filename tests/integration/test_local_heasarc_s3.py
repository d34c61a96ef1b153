"""The local HEASARC's S3 endpoint (scripts/local_heasarc/s3_endpoint.py) with a plain client:
ListObjectsV2 pages, continuation tokens, common prefixes and escaping as AWS sends them, and
objects with Range, ETag and conditional requests -- the same keys and bytes as the manifest."""

import hashlib
import os
import sys
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from urllib.parse import quote

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import LocalHeasarc, read_manifest    # noqa: E402

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
OBS = "nustar/data/obs/00/6/60001111003/"


def fetch(url, method="GET", headers=None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class S3Endpoint(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.heasarc = LocalHeasarc().start()
        cls.bucket = cls.heasarc.base + "/nasa-heasarc"
        cls.manifest = {p[len("FTP/"):]: v for p, v in read_manifest().items()}

    @classmethod
    def tearDownClass(cls):
        cls.heasarc.stop()

    def list_all(self, prefix, delimiter="/", max_keys=None, extra=""):
        keys, prefixes, pages, token = [], [], 0, None
        while True:
            query = f"list-type=2&prefix={quote(prefix, safe='')}&delimiter={quote(delimiter, safe='')}"
            if max_keys:
                query += f"&max-keys={max_keys}"
            if token:
                query += f"&continuation-token={quote(token, safe='')}"
            status, _, body = fetch(f"{self.bucket}?{query}{extra}")
            self.assertEqual(status, 200, body)
            root = ET.fromstring(body)
            self.assertEqual(root.tag, NS + "ListBucketResult")
            pages += 1
            page_keys = [c.find(NS + "Key").text for c in root.findall(NS + "Contents")]
            page_prefixes = [c.find(NS + "Prefix").text for c in root.findall(NS + "CommonPrefixes")]
            self.assertEqual(int(root.find(NS + "KeyCount").text), len(page_keys) + len(page_prefixes))
            if max_keys:
                self.assertLessEqual(len(page_keys) + len(page_prefixes), max_keys)
            keys += page_keys
            prefixes += page_prefixes
            if root.find(NS + "IsTruncated").text != "true":
                return keys, prefixes, pages
            token = root.find(NS + "NextContinuationToken").text

    def test_one_directory_is_one_page_with_exact_sizes_and_etags(self):
        status, _, body = fetch(f"{self.bucket}?list-type=2&prefix={quote(OBS, safe='')}&delimiter=%2F")
        self.assertEqual(status, 200)
        root = ET.fromstring(body)
        files = {c.find(NS + "Key").text: c for c in root.findall(NS + "Contents")}
        expected = {k for k in self.manifest if k.startswith(OBS) and "/" not in k[len(OBS):]}
        self.assertEqual(set(files), expected)
        for key, node in files.items():
            self.assertEqual(int(node.find(NS + "Size").text), self.manifest[key][0])
            self.assertEqual(node.find(NS + "ETag").text, f'"{self.manifest[key][1][:32]}"')
            self.assertRegex(node.find(NS + "LastModified").text, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
        subdirectories = {k[len(OBS):].split("/")[0] for k in self.manifest if k.startswith(OBS) and
                          "/" in k[len(OBS):]}
        self.assertEqual([p.text for p in root.iter(NS + "Prefix")][1:],
                         sorted(OBS + d + "/" for d in subdirectories))

    def test_small_pages_follow_tokens_to_the_same_listing(self):
        for prefix in (OBS, "nustar/data/obs/00/6/"):
            whole = self.list_all(prefix)
            self.assertEqual(whole[2], 1)
            entries = len(whole[0]) + len(whole[1])
            self.assertGreater(entries, 3)
            for size in (1, 2, 3):
                with self.subTest(prefix=prefix, max_keys=size):
                    paged = self.list_all(prefix, max_keys=size)
                    self.assertEqual(paged[:2], whole[:2])
                    self.assertEqual(paged[2], (entries + size - 1) // size)
        flat = self.list_all(OBS, delimiter="", max_keys=5)
        self.assertEqual(flat[0], sorted(k for k in self.manifest if k.startswith(OBS)))
        self.assertEqual(flat[1], [])

    def test_knob_caps_the_page(self):
        self.heasarc.set_knobs(s3_page_keys=2)
        self.addCleanup(self.heasarc.clear_knobs)
        keys, prefixes, pages = self.list_all(OBS)
        self.assertEqual(pages, (len(keys) + len(prefixes) + 1) // 2)

    def test_start_after_and_url_encoding(self):
        keys, _, _ = self.list_all(OBS, delimiter="")
        after, _, _ = self.list_all(OBS, delimiter="", extra=f"&start-after={quote(keys[2], safe='')}")
        self.assertEqual(after, keys[3:])
        status, _, body = fetch(f"{self.bucket}?list-type=2&prefix={quote(OBS, safe='')}&encoding-type=url")
        root = ET.fromstring(body)
        self.assertEqual(root.find(NS + "EncodingType").text, "url")

    def test_objects_with_range_etag_and_conditions(self):
        key = OBS + "pipe.log"
        size, digest = self.manifest[key]
        status, headers, body = fetch(f"{self.bucket}/{key}")
        self.assertEqual(status, 200)
        self.assertEqual(hashlib.sha256(body).hexdigest(), digest)
        etag = headers["ETag"]
        self.assertEqual(etag, f'"{digest[:32]}"')
        status, headers, body = fetch(f"{self.bucket}/{key}", headers={"Range": "bytes=10-19"})
        self.assertEqual((status, headers["Content-Range"], len(body)), (206, f"bytes 10-19/{size}", 10))
        status, headers, body = fetch(f"{self.bucket}/{key}", method="HEAD")
        self.assertEqual((status, int(headers["Content-Length"]), headers["ETag"], body), (200, size, etag, b""))
        status, headers, _ = fetch(f"{self.bucket}/{key}", headers={"Range": f"bytes={size}-"})
        self.assertEqual((status, headers["Content-Range"]), (416, f"bytes */{size}"))
        self.assertEqual(fetch(f"{self.bucket}/{key}", headers={"If-None-Match": etag})[0], 304)
        self.assertEqual(fetch(f"{self.bucket}/{key}", headers={"If-Match": '"other"'})[0], 412)
        status, _, body = fetch(f"{self.bucket}/{OBS}no-such-file")
        self.assertEqual(status, 404)
        self.assertIn(b"<Code>NoSuchKey</Code>", body)
        self.assertEqual(fetch(f"{self.bucket}/../manifest.tsv")[0], 404)
        self.assertEqual(fetch(f"{self.bucket}?prefix=x")[0], 400)   # ListObjects v1 is not served
        logged = self.heasarc.requests_for("/nasa-heasarc/")
        self.assertTrue(logged)
        self.assertEqual({e["service"] for e in logged}, {"s3"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
