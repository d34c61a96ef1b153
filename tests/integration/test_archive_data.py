"""The local HEASARC's generated archive data (scripts/make-archive-data, i.e.
scripts/local_heasarc/make_archive.py, into build/heasarc-data or $HEASARC_DATA):

1. manifest.tsv lists every file under FTP/ with its exact size and sha256, and nothing else;
2. the streaming files of 60001111005 (>= 200 MiB .evt, >= 50 MiB .evt.gz) are valid FITS with
   sizes that agree with their headers; every FITS file passes fitsverify, except the real A06
   sunpos files the generator keeps byte for byte (KEEP_AS_IS), which astropy still opens;
3. every NuSTAR obsid tree has the real layout (auxil/, event_cl/, event_uf/, hk/, ...) and
   file names carrying its obsid; trees exist exactly for the public catalogue rows;
4. the catalogue facts the tests rely on (NGC 4151 within 1 degree, exposures, proprietary row,
   'M 31', '3C 273', chanmaster);
5. the generator is deterministic: a fresh run into a temp dir gives a byte-identical manifest.

Needs no server and no mount. Runs on Debian's python3 (astropy) with Debian's fitsverify.
"""

import gzip
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import DATA_DIR as DATA, SOURCE_DIR, read_manifest, sha256_of  # noqa: E402
from local_heasarc import catalog, make_archive  # noqa: E402

from astropy.io import fits  # noqa: E402
from astropy.io.fits.verify import VerifyWarning  # noqa: E402

MAKER = Path(SOURCE_DIR) / "scripts" / "make-archive-data"
MIB = 1 << 20
BLOCK = 2880

BIG_OBSID = "60001111005"
BIG_EVT = "event_cl/nu60001111005A01_cl.evt"
BIG_GZ = "event_uf/nu60001111005A_uf.evt.gz"
FITS_SUFFIXES = (".fits", ".evt", ".gz", ".hk")

NGC4151_OBSIDS_LONG = {"60001111003": 57036, "60001111005": 61531}  # floor(exposure_a)
NGC4151_SHORT = ("60001111002", 21864)


def nustar_dir(obsid: str) -> str:
    """Manifest path of a NuSTAR obsid directory (the URL's double slash collapsed)."""
    return f"FTP/nustar/data/obs/{obsid[1:3]}/{obsid[0]}/{obsid}"


def chandra_dir(obsid: str) -> str:
    return f"FTP/chandra/data/byobsid/{obsid[-1]}/{obsid}"


def files_on_disk(root: Path) -> list:
    found = []
    for dirpath, _, filenames in os.walk(root / "FTP"):
        for name in filenames:
            found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return found


def separation_deg(ra1, dec1, ra2, dec2) -> float:
    """Great-circle distance (haversine), degrees."""
    ra1, dec1, ra2, dec2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = math.sin((dec2 - dec1) / 2) ** 2 + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


def expected_size_from_headers(hdus) -> int:
    """End of the last HDU as the headers say (header blocks + NAXIS1*NAXIS2+PCOUNT padded)."""
    end = 0
    for hdu in hdus:
        info = hdu.fileinfo()
        header = hdu.header
        naxis = [header[f"NAXIS{i}"] for i in range(1, header["NAXIS"] + 1)]
        data = 0 if not naxis else \
            abs(header["BITPIX"]) // 8 * header.get("GCOUNT", 1) * (header.get("PCOUNT", 0) + math.prod(naxis))
        padded = -(-data // BLOCK) * BLOCK
        if info["datSpan"] != padded:
            raise AssertionError(f"HDU {header.get('EXTNAME', 'PRIMARY')}: data span {info['datSpan']} B on "
                                 f"disk, headers say {data} B ({padded} B padded)")
        end = info["datLoc"] + padded
    return end


def gzip_isize_and_mtime(path: Path):
    with open(path, "rb") as f:
        head = f.read(10)
        f.seek(-4, os.SEEK_END)
        isize = struct.unpack("<I", f.read(4))[0]
    if head[:2] != b"\x1f\x8b":
        raise AssertionError(f"{path} is not gzip (magic {head[:2]!r})")
    return isize, struct.unpack("<I", head[4:8])[0]


def fitsverify(paths: list, cwd: Path) -> dict:
    """path -> the 'verification ...' line of `fitsverify -q` (one run over a file list)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="fitsverify-") as listing:
        listing.write("\n".join(paths) + "\n")
        listing.flush()
        run = subprocess.run(["fitsverify", "-q", "@" + listing.name], cwd=cwd, capture_output=True,
                             text=True, timeout=600)
    verdicts = {}
    for line in run.stdout.splitlines():
        m = re.match(r"verification (OK|FAILED): (\S+)\s*(,.*)?$", line.strip())
        if m:
            verdicts[m.group(2)] = line.strip()
    return verdicts


class ArchiveData(unittest.TestCase):
    maxDiff = None  # difference lists are short and each line matters

    @classmethod
    def setUpClass(cls):
        if not (DATA / ".complete").exists():  # fresh checkout: build it (a no-op when complete)
            subprocess.run([str(MAKER), "--data", str(DATA)], check=True, timeout=600)
        cls.manifest = read_manifest(DATA)
        cls.numaster = catalog.TABLES["numaster"]
        cls.chanmaster = catalog.TABLES["chanmaster"]

    # -- 1 -------------------------------------------------------------------------------------
    def test_manifest_matches_disk(self):
        started = time.monotonic()
        on_disk = set(files_on_disk(DATA))
        listed = set(self.manifest)
        self.assertEqual(list(self.manifest), sorted(self.manifest), "manifest.tsv is not sorted by path")
        bad = [f"{p}: in manifest.tsv, missing on disk" for p in sorted(listed - on_disk)]
        bad += [f"{p}: on disk, not in manifest.tsv" for p in sorted(on_disk - listed)]
        total = 0
        for relative, (size, sha) in sorted(self.manifest.items()):
            path = DATA / relative
            if relative not in on_disk:
                continue
            actual_size = path.stat().st_size
            total += actual_size
            if actual_size != size:
                bad.append(f"{relative}: size {actual_size} on disk, manifest {size}")
                continue
            actual_sha = sha256_of(path)
            if actual_sha != sha:
                bad.append(f"{relative}: sha256 {actual_sha} on disk, manifest {sha}")
        self.assertEqual(bad, [], f"{DATA}: {len(bad)} differences between manifest.tsv and the disk")
        # Whole-archive figures: 22 public NuSTAR trees, 6 public Chandra trees, >= 250 MiB.
        self.assertGreaterEqual(total, 250 * MIB, f"archive is only {total} B")
        print(f"\nmanifest: {len(self.manifest)} files, {total} B ({total / MIB:.1f} MiB) match the disk; "
              f"hashed in {time.monotonic() - started:.1f} s", file=sys.stderr)

    # -- 2 -------------------------------------------------------------------------------------
    def test_streaming_files(self):
        top = DATA / nustar_dir(BIG_OBSID)
        evt, gz = top / BIG_EVT, top / BIG_GZ
        self.assertGreaterEqual(evt.stat().st_size, 200 * MIB, f"{evt}: {evt.stat().st_size} B < 200 MiB")
        self.assertGreaterEqual(gz.stat().st_size, 50 * MIB, f"{gz}: {gz.stat().st_size} B < 50 MiB compressed")

        with fits.open(evt, memmap=True) as hdus:
            self.assertEqual([h.header.get("EXTNAME", "PRIMARY") for h in hdus], ["PRIMARY", "EVENTS", "GTI"])
            for hdu in hdus:
                self.assertEqual(hdu.header.get("TELESCOP"), "NuSTAR", f"{evt} HDU {hdu.name} TELESCOP")
            events = hdus["EVENTS"].header
            self.assertEqual(expected_size_from_headers(hdus), evt.stat().st_size,
                             f"{evt}: size on disk != sum of HDU sizes from NAXISn")
            self.assertGreaterEqual(events["NAXIS1"] * events["NAXIS2"], 200 * MIB,
                                    f"EVENTS: {events['NAXIS2']} rows x {events['NAXIS1']} B < 200 MiB")
            data = hdus["EVENTS"].data  # memory-mapped: only the touched pages are read
            self.assertEqual(len(data), events["NAXIS2"])
            self.assertEqual(len(data[:100]), 100)
            first, last = float(data["TIME"][0]), float(data["TIME"][-1])
            self.assertTrue(math.isfinite(first) and math.isfinite(last))
            self.assertGreater(last, first, "TIME of the last event <= TIME of the first")
            evt_rows = events["NAXIS2"]

        isize, gzip_mtime = gzip_isize_and_mtime(gz)
        self.assertEqual(gzip_mtime, 0, f"{gz}: gzip header MTIME {gzip_mtime}, generator promises 0")
        with fits.open(gz) as hdus:  # headers only: fileinfo() skips the data
            self.assertEqual([h.header.get("EXTNAME", "PRIMARY") for h in hdus], ["PRIMARY", "EVENTS", "GTI"])
            for hdu in hdus:
                self.assertEqual(hdu.header.get("TELESCOP"), "NuSTAR", f"{gz} HDU {hdu.name} TELESCOP")
            events = hdus["EVENTS"].header
            self.assertEqual(expected_size_from_headers(hdus), isize,
                             f"{gz}: uncompressed size (gzip ISIZE) != sum of HDU sizes from NAXISn")
            gz_rows = events["NAXIS2"]

        verdicts = fitsverify([BIG_EVT, BIG_GZ], cwd=top)
        for relative in (BIG_EVT, BIG_GZ):
            self.assertTrue(verdicts.get(relative, "").startswith("verification OK"),
                            f"fitsverify -q {relative}: {verdicts.get(relative)!r}")
        print(f"\nstreaming: {BIG_EVT} {evt.stat().st_size} B, {evt_rows} rows; {BIG_GZ} {gz.stat().st_size} B "
              f"({isize} B uncompressed), {gz_rows} rows; both fitsverify OK", file=sys.stderr)

    def test_fits_files_carry_their_obsid(self):
        # HEASARC's files name their own observation; the generator stamps OBS_ID into copies of
        # real files from other observations (all but the byte-for-byte KEEP_AS_IS ones).
        wrong = []
        checked = 0
        obsid_dir = re.compile(r"^FTP/(?:nustar/data/obs/\d\d/\d|chandra/data/byobsid/\d)/(\d+)/")
        for path in sorted(p for p in self.manifest if p.endswith(FITS_SUFFIXES)):
            match = obsid_dir.match(path)
            if not match or path.endswith("A06_cl.evt.gz") or path.endswith(".txt.gz"):
                continue
            checked += 1
            with fits.open(DATA / path) as hdus:
                stamps = [(index, hdu.header["OBS_ID"]) for index, hdu in enumerate(hdus)
                          if index == 0 or "OBS_ID" in hdu.header]
            for extension, obs_id in stamps:
                if str(obs_id).lstrip("0") != match.group(1).lstrip("0"):
                    wrong.append(f"{path}[{extension}] OBS_ID={obs_id!r}")
        self.assertGreater(checked, 300)
        self.assertEqual(wrong, [], "files carrying another observation's OBS_ID")
        for relative in (BIG_EVT, BIG_GZ):
            for extension in (0, "EVENTS"):
                self.assertEqual(fits.getheader(DATA / nustar_dir(BIG_OBSID) / relative, extension)["OBS_ID"],
                                 BIG_OBSID, f"{relative}[{extension}]")

    def test_fitsverify_every_fits_file(self):
        fits_files = sorted(p for p in self.manifest if p.endswith(FITS_SUFFIXES))
        self.assertGreater(len(fits_files), 300)
        verdicts = fitsverify(fits_files, cwd=DATA)
        self.assertEqual(sorted(set(fits_files) - set(verdicts)), [], "files fitsverify gave no verdict for")

        # The known non-conformant files: byte for byte (after gunzip) the KEEP_AS_IS sources.
        keep_as_is = {(make_archive.FITS_DIR / name).read_bytes() for name in make_archive.KEEP_AS_IS}
        self.assertEqual(len(make_archive.KEEP_AS_IS), 1, "update this test: KEEP_AS_IS changed")
        known_bad = set()
        for relative in fits_files:
            if relative.endswith("A06_cl.evt.gz"):
                with gzip.open(DATA / relative) as f:
                    if f.read() in keep_as_is:
                        known_bad.add(relative)
        public_nustar = [str(r["obsid"]) for r in self.numaster.rows if self.numaster.archive_path(r)]
        self.assertEqual(sorted(known_bad),
                         sorted(f"{nustar_dir(o)}/event_cl/nu{o}A06_cl.evt.gz" for o in public_nustar),
                         "each public NuSTAR obsid has exactly one kept-as-is A06 sunpos file")

        failed = sorted(f"{p}: {verdicts[p]}" for p in fits_files
                        if p not in known_bad and not verdicts[p].startswith("verification OK"))
        self.assertEqual(failed, [], "fitsverify -q failures (other than the kept-as-is A06 files)")
        for relative in sorted(known_bad):
            with self.subTest(file=relative), warnings.catch_warnings(), fits.open(DATA / relative) as hdus:
                warnings.simplefilter("ignore", VerifyWarning)  # the known TCRVL13/14 strings
                self.assertEqual(hdus["EVENTS"].header["NAXIS2"], 9442)  # PROVENANCE.md: 9442 rows
                self.assertEqual(len(hdus["EVENTS"].data), 9442)
                self.assertIn("GTI", hdus)
        print(f"\nfitsverify: {len(fits_files) - len(known_bad)} of {len(fits_files)} FITS files OK; "
              f"{len(known_bad)} kept-as-is A06 sunpos files open in astropy", file=sys.stderr)

    # -- 3 -------------------------------------------------------------------------------------
    def test_real_layout(self):
        trees = {}
        for relative in self.manifest:
            m = re.match(r"FTP/nustar/data/obs/(\d\d)/(\d)/(\d{11})/(.+)$", relative)
            if m:
                obsid = m.group(3)
                self.assertEqual((m.group(1), m.group(2)), (obsid[1:3], obsid[0]), f"{relative}: wrong parents")
                trees.setdefault(obsid, []).append(m.group(4))
            else:
                self.assertRegex(relative, r"^FTP/chandra/data/byobsid/\d/\d+/", "neither NuSTAR nor Chandra")

        public = {str(r["obsid"]) for r in self.numaster.rows if r["status"] == "archived"}
        proprietary = {str(r["obsid"]) for r in self.numaster.rows if r["status"] != "archived"}
        self.assertEqual(sorted(trees), sorted(public), "NuSTAR trees != public numaster rows")
        self.assertEqual(len(trees), 22)
        self.assertTrue(proprietary and not proprietary & set(trees), "a proprietary row has a tree")

        for obsid, names in sorted(trees.items()):
            with self.subTest(obsid=obsid):
                top = DATA / nustar_dir(obsid)
                for sub in ("auxil", "event_cl", "event_uf", "hk"):
                    self.assertTrue((top / sub).is_dir(), f"{top / sub} is not a directory")
                    self.assertTrue(any(n.startswith(sub + "/") for n in names), f"{obsid}: {sub}/ is empty")
                required = [f"auxil/nu{obsid}_att.fits.gz", f"auxil/nu{obsid}_orb.fits.gz",
                            f"event_cl/nu{obsid}A01_cl.evt.gz", f"event_cl/nu{obsid}B01_cl.evt.gz",
                            f"event_uf/nu{obsid}A_uf.evt.gz", f"event_uf/nu{obsid}B_uf.evt.gz",
                            f"hk/nu{obsid}A_fpm.hk.gz", f"hk/nu{obsid}_met.fits.gz", f"hk/nu{obsid}_ceb.hk.gz",
                            f"nu{obsid}.cat.gz", "pipe.log"]
                self.assertEqual(sorted(set(required) - set(names)), [], f"{obsid}: missing files")
                self.assertTrue(any(re.fullmatch(r"auxil/NUSTAR_TLE_ARCHIVE\.txt\.\d{4}-\d\d-\d\d", n)
                                    for n in names), f"{obsid}: no auxil/NUSTAR_TLE_ARCHIVE.txt.<date>")
                for name in names:
                    base = name.rsplit("/", 1)[-1]
                    if base == "pipe.log" or base.startswith("NUSTAR_TLE_ARCHIVE.txt."):
                        continue
                    self.assertRegex(base, rf"^nu{obsid}([AB](\d\d)?)?_?[A-Za-z0-9_]*\.[a-z0-9.]+$",
                                     f"{obsid}: {name} does not carry the obsid as nu<obsid>...")
                    self.assertTrue(name.count("/") <= 1, f"{obsid}: {name} nested too deep")
                log = (top / "pipe.log").read_text()
                self.assertIn(f"run on observation {obsid}", log.splitlines()[0], f"{obsid}: pipe.log")

        chandra_public = {str(r["obsid"]) for r in self.chanmaster.rows if r["status"] == "archived"}
        chandra_trees = {p.split("/")[5] for p in self.manifest if p.startswith("FTP/chandra/")}
        self.assertEqual(sorted(chandra_trees), sorted(chandra_public), "Chandra trees != archived chanmaster rows")
        for obsid in sorted(chandra_public):
            o5 = f"{int(obsid):05d}"
            self.assertIn(f"{chandra_dir(obsid)}/primary/acisf{o5}N004_evt2.fits.gz", self.manifest)

    # -- 4 -------------------------------------------------------------------------------------
    def test_catalog_facts(self):
        ra0, dec0, display, _ = catalog.OBJECTS[catalog.normalize_name("NGC 4151")]
        self.assertEqual(display, "NGC 4151")
        near = {str(r["obsid"]): r for r in self.numaster.rows
                if separation_deg(ra0, dec0, r["ra"], r["dec"]) <= 1.0}
        self.assertGreaterEqual(len(near), 6, f"numaster rows within 1 deg of NGC 4151: {sorted(near)}")

        long = {o: r["exposure_a"] for o, r in near.items() if r["exposure_a"] >= 50000}
        self.assertEqual(len(long), 3, f"rows with exposure_a >= 50000 within 1 deg: {long}")
        for obsid, seconds in NGC4151_OBSIDS_LONG.items():
            self.assertIn(obsid, long)
            self.assertEqual(math.floor(long[obsid]), seconds, f"{obsid} exposure_a {long[obsid]}")
        obsid, seconds = NGC4151_SHORT
        self.assertIn(obsid, near)
        self.assertEqual(math.floor(near[obsid]["exposure_a"]), seconds, f"{obsid} exposure_a")

        proprietary = [o for o, r in near.items() if r["status"] != "archived"]
        self.assertEqual(len(proprietary), 1, f"proprietary rows within 1 deg: {proprietary}")
        self.assertIsNone(self.numaster.archive_path(near[proprietary[0]]))
        self.assertFalse(any(p.startswith(nustar_dir(proprietary[0]) + "/") for p in self.manifest),
                         f"proprietary {proprietary[0]} has files in the archive")
        for obsid in long:  # the three rows the tutorial selects all have data
            self.assertIn(nustar_dir(obsid) + "/pipe.log", self.manifest)

        # Other targets, including names with spaces, each with numaster rows near them.
        displays = {value[2] for value in catalog.OBJECTS.values()}
        for name in ("M 31", "3C 273"):
            self.assertIn(name, displays)
            ra, dec, _, _ = catalog.OBJECTS[catalog.normalize_name(name)]
            rows = [r["obsid"] for r in self.numaster.rows if separation_deg(ra, dec, r["ra"], r["dec"]) <= 1.0]
            self.assertGreaterEqual(len(rows), 2, f"numaster rows within 1 deg of {name}: {rows}")
        targets = {r["name"] for r in self.numaster.rows}
        self.assertGreaterEqual(len(targets - {"NGC_4151"}), 5, f"numaster targets: {sorted(targets)}")

        # A second master table with rows, some of them near NGC 4151 and public.
        self.assertIn("chanmaster", catalog.TABLES)
        self.assertGreaterEqual(len(self.chanmaster.rows), 5)
        chandra_near = [r for r in self.chanmaster.rows if separation_deg(ra0, dec0, r["ra"], r["dec"]) <= 1.0]
        self.assertGreaterEqual(len([r for r in chandra_near if r["status"] == "archived"]), 1)
        print(f"\ncatalog: {len(near)} numaster rows within 1 deg of NGC 4151, exposure_a >= 50000: "
              f"{sorted(long.items())}, proprietary {proprietary}; chanmaster {len(self.chanmaster.rows)} rows",
              file=sys.stderr)

    # -- 5 -------------------------------------------------------------------------------------
    @classmethod
    def regenerate(cls) -> Path:
        """Runs the generator once more, into a fresh temp dir (no .complete marker there, and
        --force on top), for the determinism tests; the tree is removed after the class."""
        if getattr(cls, "fresh", None) is None:
            work = Path(tempfile.mkdtemp(prefix="heasarc-data-again-"))
            cls.addClassCleanup(shutil.rmtree, work, True)
            fresh = work / "heasarc-data"
            env = dict(os.environ)
            env.pop("HEASARC_DATA", None)
            started = time.monotonic()
            run = subprocess.run([str(MAKER), "--data", str(fresh), "--force"], capture_output=True, text=True,
                                 timeout=600, env=env)
            cls.regenerate_seconds = time.monotonic() - started
            if run.returncode != 0:
                raise AssertionError(f"make-archive-data failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
            if "built" not in run.stdout:
                raise AssertionError(f"make-archive-data did not build:\n{run.stdout}")
            cls.regenerate_output = run.stdout.strip()
            cls.work, cls.fresh = work, fresh
        return cls.fresh

    def test_generator_rerun_same_tree(self):
        # What a rerun must reproduce and today does: the paths, every mtime, the streaming files
        # and the text files byte for byte (make_archive writes no timestamps into those).
        fresh = self.regenerate()
        self.assertEqual(sorted(os.listdir(self.work)), ["heasarc-data"], "generator left temp dirs behind")
        self.assertEqual((fresh / ".complete").read_text().strip(), make_archive.VERSION)
        again = read_manifest(fresh)
        self.assertEqual(sorted(again), sorted(self.manifest), "the rerun wrote a different set of paths")
        mtimes = sorted(p for p in self.manifest
                        if int(os.stat(DATA / p).st_mtime) != int(os.stat(fresh / p).st_mtime))
        self.assertEqual(mtimes, [], "files whose mtime differs between runs")
        stable = [p for p in self.manifest
                  if p.endswith((BIG_EVT, BIG_GZ, "pipe.log")) or "/NUSTAR_TLE_ARCHIVE.txt." in p]
        self.assertEqual(len(stable), 2 + 2 * 22)
        differing = sorted(p for p in stable if again[p] != self.manifest[p])
        self.assertEqual(differing, [], "streaming/text files differ between runs")
        print(f"\ndeterminism: rerun in {self.regenerate_seconds:.1f} s ({self.regenerate_output}); same "
              f"{len(again)} paths and mtimes, {len(stable)} streaming/text files identical", file=sys.stderr)

    def test_generator_manifest_byte_identical(self):
        fresh = self.regenerate()
        original = (DATA / "manifest.tsv").read_bytes()
        again = (fresh / "manifest.tsv").read_bytes()
        if again != original:
            a, b = read_manifest(DATA), read_manifest(fresh)
            differing = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
            self.fail(f"manifest.tsv differs between runs in {len(differing)} of {len(a)} entries, "
                      f"e.g. {differing[:3]}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
