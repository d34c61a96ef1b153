"""16 concurrent readers over an archive that faults 10 % of its data requests (503, reset and
truncated bodies, Range ignored, at random): every byte read equals the archive's, each reader's
whole small file matches the manifest's sha256, and a read that fails says EIO or ETIMEDOUT,
never wrong bytes."""

import errno
import hashlib
import os
import random
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import DATA_DIR, LocalHeasarc, Mount, read_manifest    # noqa: E402

OBSID = "60001111005"
PREFIX = f"FTP/nustar/data/obs/00/6/{OBSID}/"
READERS = 16
READS_PER_READER = 40
FAULT_PROBABILITY = 0.1


class ConcurrentFaults(unittest.TestCase):
    def test_16_readers_with_10_percent_faults_read_no_wrong_byte(self):
        manifest = {p[len(PREFIX):]: v for p, v in read_manifest().items() if p.startswith(PREFIX)}
        big = sorted((r for r, (size, _) in manifest.items() if size > 4 << 20), key=lambda r: -manifest[r][0])
        small = sorted(r for r, (size, _) in manifest.items() if 0 < size <= 1 << 20)
        self.assertTrue(big and len(small) >= 4, (big, small))
        with LocalHeasarc() as heasarc, Mount(heasarc.registry, heasarc.resolver, options=["timeout=20"]) as mount:
            row = mount.p("numaster", "NGC4151", OBSID)
            # Listing and sizes from a healthy archive; then the faults, on data requests only.
            for relative, (size, _) in manifest.items():
                self.assertEqual(os.stat(os.path.join(row, relative)).st_size, size, relative)
            mount.allow(r" warn fetch: retry [1-3]/3 of http://127\.0\.0\.1:\d+/FTP/",
                        r" warn read: inode \d+ at \d+\+\d+: ",
                        r" warn (archive|http|fetch): .*http://127\.0\.0\.1:\d+/FTP/")
            heasarc.clear_log()
            heasarc.set_knobs(fault="mix", fault_probability=FAULT_PROBABILITY, fault_path="/FTP/")

            wrong, failed, done = [], [], []
            lock = threading.Lock()

            def reader(number):
                rng = random.Random(number)
                for i in range(READS_PER_READER + 1):
                    if i == READS_PER_READER:      # last: one whole small file against its sha256
                        relative = small[number % len(small)]
                        offset, length = 0, manifest[relative][0]
                    else:
                        relative = rng.choice(big + small[:2])
                        size = manifest[relative][0]
                        length = rng.choice([1, 2880, 65536, 300000, 1 << 20])
                        offset = rng.randrange(0, max(1, size - length))
                    try:
                        with open(os.path.join(row, relative), "rb") as f:
                            f.seek(offset)
                            got = f.read(length)
                    except OSError as e:
                        with lock:
                            failed.append((relative, offset, length, e.errno))
                        continue
                    with open(DATA_DIR / PREFIX / relative, "rb") as f:
                        f.seek(offset)
                        expected = f.read(length)
                    if got != expected or (i == READS_PER_READER and
                                           hashlib.sha256(got).hexdigest() != manifest[relative][1]):
                        with lock:
                            wrong.append((relative, offset, length, len(got)))
                    with lock:
                        done.append(len(got))

            threads = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=600)
            self.assertFalse(any(t.is_alive() for t in threads), "a reader hung")
            heasarc.clear_knobs()

            data_requests = heasarc.requests_for(r"/FTP/", "GET")
            faulted = [e for e in data_requests if e["fault"] not in (None, "", "none")]
            print(f"  {READERS} readers: {len(done)} reads, {sum(done)} bytes, "
                  f"{len(wrong)} wrong, {len(failed)} failed; {len(faulted)} of {len(data_requests)} "
                  f"archive GETs faulted ({sorted({e['fault'] for e in faulted})})", file=sys.stderr)
            self.assertEqual(wrong, [])
            # The faults happened, at about the asked rate.
            self.assertGreater(len(faulted), 0)
            self.assertLess(len(faulted), 0.3 * len(data_requests))
            # Three retries make a failed read rare (four faults in a row: 1e-4 per part); a
            # failure is an errno, never bytes.
            self.assertTrue(all(f[3] in (errno.EIO, errno.ETIMEDOUT) for f in failed), failed)
            self.assertLessEqual(len(failed), READERS * (READS_PER_READER + 1) // 20, failed)


if __name__ == "__main__":
    unittest.main(verbosity=2)
