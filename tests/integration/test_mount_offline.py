"""Offline and changed files, mounted (README "Offline and refreshing").

Offline: a walk and a copy with the services up; unmount; the local HEASARC stopped; a remount
on the same cache_dir serves the same `ls -lR` and the same bytes (the manifest's), first from
fresh records without a single attempt, then, with the records aged past their TTLs, as stale
answers the log names; an uncached path fails at once with ECONNREFUSED.

Changed files: with the archive sending no ETag and no Last-Modified (knob archive_validators),
a file replaced by one of the same size is read whole as the old version until its directory
is refreshed (`stat DIR/.refresh`), then whole as the new one: never a mix.
"""

import errno
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import DATA_DIR, LocalHeasarc, Mount, read_manifest, sha256_of  # noqa: E402

OBSID = "60001111003"
TARGET = ("numaster", "NGC4151")
PREFIX = f"FTP/nustar/data/obs/00/6/{OBSID}/"
TIMEOUT = 3
# What the offline remounts may log: the stale answers they serve, the paths they cannot.
OFFLINE_LINES = (r" warn remote: serving the stale ",
                 r" warn (lookup|opendir|getattr|open|read): .*Connection refused")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tree(top):
    """{relative path: (is_dir, size, mtime)} of everything under top."""
    found = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            found[os.path.relpath(path, top)] = (os.path.isdir(path), st.st_size, int(st.st_mtime))
    return found


def ls_lr(path):
    return subprocess.run(["ls", "-lR", "--time-style=full-iso", path], capture_output=True, text=True,
                          check=True, timeout=120).stdout


def age_records(cache_dir, seconds):
    """Moves every metadata record's fetch time `seconds` into the past, as if the cache had
    been filled that long ago (cache/metadata_store.h: magic, fetch ms, key and value lengths,
    key, value, CRC-32 of all before)."""
    meta = os.path.join(cache_dir, "meta")
    aged = 0
    for name in os.listdir(meta):
        path = os.path.join(meta, name)
        with open(path, "rb") as f:
            data = f.read()
        assert data[:8] == b"HFSMETA1", name
        (fetched,) = struct.unpack_from("<q", data, 8)
        body = data[:8] + struct.pack("<q", fetched - seconds * 1000) + data[16:-4]
        with open(path, "wb") as f:
            f.write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))
        aged += 1
    return aged


class Offline(unittest.TestCase):
    def test_a_remount_with_the_services_down_serves_the_cached_tree_and_bytes(self):
        work = tempfile.mkdtemp(prefix="heasarcfs-offline-")
        self.addCleanup(shutil.rmtree, work, True)
        cache = os.path.join(work, "cache")
        expected = {path[len(PREFIX):]: value for path, value in read_manifest().items() if path.startswith(PREFIX)}
        self.assertTrue(expected)

        heasarc = LocalHeasarc().start()
        try:
            with Mount(heasarc.registry, heasarc.resolver, cache_dir=cache, options=[f"timeout={TIMEOUT}"]) as m:
                row = m.p(*TARGET, OBSID)
                rows_online = sorted(os.listdir(m.p(*TARGET)))
                listing_online = ls_lr(row).replace(m.path, "MNT")
                tree_online = tree(row)
                csv_online = read(m.p(*TARGET, ".results.csv"))
                copied = {rel: sha256_of(os.path.join(row, rel))
                          for rel, (is_dir, _, _) in tree_online.items() if not is_dir}
                self.assertEqual(copied, {rel: sha for rel, (_, sha) in expected.items()})
        finally:
            heasarc.stop()
        registry, resolver = heasarc.registry, heasarc.resolver

        def walk_offline(m):
            row = m.p(*TARGET, OBSID)
            self.assertEqual(sorted(os.listdir(m.p(*TARGET))), rows_online)
            self.assertEqual(ls_lr(row).replace(m.path, "MNT"), listing_online)
            self.assertEqual(tree(row), tree_online)
            self.assertEqual(read(m.p(*TARGET, ".results.csv")), csv_online)
            served = 0
            for rel, (_, sha) in expected.items():
                self.assertEqual(sha256_of(os.path.join(row, rel)), sha, rel)
                served += os.path.getsize(os.path.join(row, rel))
            # An uncached path (another row's DataLink directory) fails at once, clearly.
            started = time.monotonic()
            with self.assertRaises(OSError) as caught:
                os.listdir(m.p(*TARGET, "60001111005"))
            elapsed = time.monotonic() - started
            self.assertEqual(caught.exception.errno, errno.ECONNREFUSED)
            self.assertLess(elapsed, TIMEOUT + 2)
            return served, elapsed

        # Fresh records: everything from disk, no attempt at all, nothing stale to say.
        with Mount(registry, resolver, cache_dir=cache, options=[f"timeout={TIMEOUT}"],
                   allow=OFFLINE_LINES[1:]) as m:
            served, elapsed = walk_offline(m)
            self.assertNotIn("serving the stale", m.log())
        dirs = sum(1 for is_dir, _, _ in tree_online.values() if is_dir)
        print(f"offline remount (fresh records): {len(rows_online)} entries in the target directory, {dirs} directories, "
              f"{len(expected)} files, {served} bytes served; uncached path ECONNREFUSED in {elapsed:.3f} s")

        # Two days later: every record is past its TTL; served stale, and the log says so.
        aged = age_records(cache, 2 * 24 * 3600)
        with Mount(registry, resolver, cache_dir=cache, options=[f"timeout={TIMEOUT}"], allow=OFFLINE_LINES) as m:
            served, elapsed = walk_offline(m)
            stale = [line for line in m.log().splitlines() if "serving the stale" in line]
        kinds = sorted({line.split("serving the stale ")[1].split(" of ")[0] for line in stale})
        self.assertIn("listing", kinds)
        self.assertIn("cone answer", kinds)
        self.assertTrue(all(" fetched at " in line and " s ago)" in line for line in stale), stale)
        # Said once per answer, not once per lookup.
        self.assertEqual(len(stale), len(set(line.split(" fetched at ")[0].split("remote: ")[1] for line in stale)))
        print(f"offline remount (records aged 2 days, {aged} records): {len(stale)} stale answers logged "
              f"({', '.join(kinds)}), {len(expected)} files, {served} bytes served; "
              f"uncached path ECONNREFUSED in {elapsed:.3f} s")


class ChangedFile(unittest.TestCase):
    def test_a_same_size_change_without_validators_is_never_read_mixed(self):
        work = tempfile.mkdtemp(prefix="heasarcfs-changed-")
        self.addCleanup(shutil.rmtree, work, True)
        # A private archive: hard links of the shared data; the changed file gets a new inode.
        data = os.path.join(work, "data")
        subprocess.run(["cp", "-al", str(DATA_DIR), data], check=True, timeout=120)
        expected = {path[len(PREFIX):]: value for path, value in read_manifest().items() if path.startswith(PREFIX)}
        # A file that comes whole in one request (at most 1 MiB), as large as possible.
        rel = max((r for r, (size, _) in expected.items() if size <= 1 << 20), key=lambda r: expected[r][0])
        archived = os.path.join(data, PREFIX, rel)
        old = read(archived)
        new = bytes(b ^ 0xFF for b in old)

        with LocalHeasarc(data=data, knobs={"archive_validators": False}) as heasarc:
            with Mount(heasarc.registry, heasarc.resolver, cache_dir=os.path.join(work, "cache"),
                       options=[f"timeout={TIMEOUT}"]) as m:
                path = m.p(*TARGET, OBSID, rel)
                directory = os.path.dirname(path)
                self.assertEqual(read(path), old)
                replacement = archived + ".new"
                with open(replacement, "wb") as f:
                    f.write(new)
                os.replace(replacement, archived)
                # The cached version, whole, until the directory is refreshed.
                self.assertEqual(read(path), old)
                with open(path, "rb") as f:
                    f.seek(len(old) // 2)
                    self.assertEqual(f.read(), old[len(old) // 2:])
                with self.assertRaises(FileNotFoundError):
                    os.stat(os.path.join(directory, ".refresh"))
                self.assertRegex(m.log(), r" info refresh: refreshed .*the listing ")
                # The new version, whole (old blocks and old pages are not reused).
                self.assertEqual(read(path), new)
                self.assertEqual(os.stat(path).st_size, len(new))
            # A remount on the same cache serves the refreshed version.
            with Mount(heasarc.registry, heasarc.resolver, cache_dir=os.path.join(work, "cache"),
                       options=[f"timeout={TIMEOUT}"]) as m:
                self.assertEqual(read(m.p(*TARGET, OBSID, rel)), new)
        print(f"changed file {rel} ({len(old)} bytes, no validators): old version whole before .refresh, "
              f"new version whole after")


if __name__ == "__main__":
    unittest.main(verbosity=2)
