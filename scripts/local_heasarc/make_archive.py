"""Builds the local HEASARC's archive tree (<data>/FTP/...) and its manifest, deterministically:
the same bytes and mtimes on every machine and every run.

Every public row of every catalogue table gets a directory in the real layout, built from the
real FITS files in tests/data/fits/, stamped with the observation's OBS_ID and OBJECT and
gzipped where HEASARC gzips (gzip mtime 0, fixed checksum comments). Obsid 60001111005 also gets the two large files for streaming work: an uncompressed event file of
>= 200 MiB (the real EVENTS rows repeated, TIME advanced) and an event .gz of >= 50 MiB
compressed (high-entropy generated events); obsid 60001111002 a wide hk/ directory (70 small
files, for deadline tests of `ls -l`). The tree is built in a temp dir and renamed into
place, so a half-built tree never sits under the real name.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

from . import catalog

VERSION = "heasarc-archive-4"
FITS_DIR = catalog.REPO / "tests" / "data" / "fits"
BLOCK = 2880
BIG_OBSID = "60001111005"
BIG_EVENTS_MIN = 200 * 1024 * 1024 + 1
BIG_GZ_MIN = 50 * 1024 * 1024 + 1
# Obsid 60001111002 gets a wide hk/ directory (WIDE_FILES more small files, 70 in all): an
# `ls -l` of it is one listing and 70 HEADs (tests/integration/test_mount_deadlines.py).
WIDE_OBSID = "60001111002"
WIDE_FILES = 64


def mjd_to_unix(mjd: float) -> int:
    return int(round((mjd - 40587.0) * 86400))


def gz(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=0) as g:
        g.write(data)
    return out.getvalue()


# Kept byte for byte: a real, slightly non-conformant file (fitsverify: 2 errors, TCRVL written
# as strings) is worth having in the archive, as real archives have them.
KEEP_AS_IS = {"nustar/nu90410111001A06_cl_sunpos.evt"}


# The comment of the CHECKSUM/DATASUM cards; astropy's default is the current time, which
# would make every run's bytes (and gzip sizes) differ.
CHECKSUM_WHEN = "by the local HEASARC generator"


def stamp_observation(data: bytes, obsid: str, target: str) -> bytes:
    """The same HDUs carrying this observation's OBS_ID and OBJECT (as HEASARC's files do; the
    real sources belong to other observations), with CHECKSUM/DATASUM recomputed (some sources
    carry stale sums: they were trimmed after the pipeline wrote them; HEASARC's files verify)."""
    out = io.BytesIO()
    with fits.open(io.BytesIO(data)) as hdus:
        for index, hdu in enumerate(hdus):
            for keyword, value in (("OBS_ID", obsid), ("OBJECT", target)):
                if index == 0 or keyword in hdu.header:
                    hdu.header[keyword] = value
            hdu.add_checksum(when=CHECKSUM_WHEN)
        hdus.writeto(out)
    return out.getvalue()


class Sources:
    """The real files, read once; each observation's stamped copy, plain and gzipped, memoised
    (several paths of one tree share a source)."""

    def __init__(self):
        self._raw: dict[str, bytes] = {}
        self._stamped: dict[tuple[str, str], bytes] = {}
        self._gz: dict[tuple[str, str], bytes] = {}

    def raw(self, name: str) -> bytes:
        if name not in self._raw:
            data = (FITS_DIR / name).read_bytes()
            self._raw[name] = gzip.decompress(data) if name.endswith(".gz") else data
        return self._raw[name]

    def stamped(self, name: str, obsid: str, target: str) -> bytes:
        if name in KEEP_AS_IS:
            return self.raw(name)
        key = (name, obsid)
        if key not in self._stamped:
            self._stamped[key] = stamp_observation(self.raw(name), obsid, target)
        return self._stamped[key]

    def gzipped(self, name: str, obsid: str, target: str) -> bytes:
        key = (name, obsid)
        if key not in self._gz:
            self._gz[key] = gz(self.stamped(name, obsid, target))
        return self._gz[key]


def write(path: Path, data: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, 0o644)
    os.utime(path, (mtime, mtime))


def pipe_log(obsid: str, start_mjd: float) -> bytes:
    lines = [f"nupipeline_0.4.9: run on observation {obsid} (start MJD {start_mjd:.4f})"]
    for stage, step in [(1, "nucalcpha"), (1, "nucalcpi"), (1, "nuflagbad"), (1, "nuhotpix"), (1, "nucalcpos"),
                        (2, "nuscreen"), (2, "nulivetime"), (3, "nuproducts")]:
        for unit in "AB":
            lines.append(f"nupipeline_0.4.9: Stage {stage}: running '{step}' on FPM{unit} ... done (exit 0)")
    lines.append(f"nupipeline_0.4.9: Exit with no errors - {obsid}")
    return ("\n".join(lines * 40) + "\n").encode()


def tle_archive(obsid: str) -> bytes:
    rows = []
    for i in range(200):
        epoch = 14356.0 + i * 0.25
        rows.append(f"1 38358U 12031A   {epoch:014.8f}  .00000650  00000-0  48581-4 0  999{i % 10}")
        rows.append(f"2 38358   6.0243 {(100 + i * 0.7) % 360:8.4f} 0011592 {(i * 3.1) % 360:8.4f} "
                    f"{(i * 7.3) % 360:8.4f} 14.87585926{i:5d}")
    return ("\n".join(rows) + "\n").encode()


def nustar_tree(root: Path, obsid: str, target: str, mtime: int, start_mjd: float, sources: Sources) -> None:
    def gzipped(name: str) -> bytes:
        return sources.gzipped(name, obsid, target)

    files = {
        f"auxil/nu{obsid}_att.fits.gz": gzipped("nustar/nu90410111001_chu123.fits"),
        f"auxil/nu{obsid}_orb.fits.gz": gzipped("nustar/dummy_orb_trimmed.fits.gz"),
        "auxil/NUSTAR_TLE_ARCHIVE.txt.2014-12-22": tle_archive(obsid),
        f"event_cl/nu{obsid}A01_cl.evt.gz": gzipped("nustar/dummy_evt.evt"),
        f"event_cl/nu{obsid}B01_cl.evt.gz": gzipped("nustar/dummy_evt.evt"),
        f"event_cl/nu{obsid}A06_cl.evt.gz": gzipped("nustar/nu90410111001A06_cl_sunpos.evt"),
        f"event_cl/nu{obsid}A01_gti.fits.gz": gzipped("nustar/usrgti.fits"),
        f"event_uf/nu{obsid}A_uf.evt.gz": gzipped("nustar/dummy_evt.evt"),
        f"event_uf/nu{obsid}B_uf.evt.gz": gzipped("nustar/dummy_evt.evt"),
        f"hk/nu{obsid}A_fpm.hk.gz": gzipped("nustar/nu90410111001A_fpm.hk"),
        f"hk/nu{obsid}B_fpm.hk.gz": gzipped("nustar/nu90410111001A_fpm.hk"),
        f"hk/nu{obsid}_chu123.fits.gz": gzipped("nustar/nu90410111001_chu123.fits"),
        f"hk/nu{obsid}_eng.hk.gz": gzipped("nustar/dummy_eng.hk"),
        f"hk/nu{obsid}_met.fits.gz": gzipped("nustar/dummy_clk.fits"),
        f"hk/nu{obsid}_ceb.hk.gz": gzipped("nustar/nu90410111001A_fpm.hk"),
        f"nu{obsid}.cat.gz": gzipped("nustar/usrgti.fits"),
        "pipe.log": pipe_log(obsid, start_mjd),
    }
    for relative, data in files.items():
        write(root / relative, data, mtime)


def chandra_tree(root: Path, obsid: str, target: str, mtime: int, sources: Sources) -> None:
    def gzipped(name: str) -> bytes:
        return sources.gzipped(name, obsid, target)

    o5 = f"{int(obsid):05d}"
    files = {
        f"primary/acisf{o5}N004_evt2.fits.gz": gzipped("chandra/chandra_test.fits"),
        f"primary/acisf{o5}N004_full_img2.fits.gz": gzipped("nustar/detA_det1.img.gz"),
        f"secondary/acisf{o5}_000N004_bpix1.fits.gz": gzipped("nustar/usrgti.fits"),
        f"secondary/acisf{o5}_000N004_evt1.fits.gz": gzipped("chandra/chandra_test.fits"),
        "oif.fits": sources.stamped("nustar/usrgti.fits", obsid, target),
    }
    for relative, data in files.items():
        write(root / relative, data, mtime)


def _header_bytes(header: fits.Header) -> bytes:
    text = header.tostring()
    return text.encode("ascii")


def _events_header(template: fits.Header, rows: int) -> fits.Header:
    header = template.copy()
    header["NAXIS2"] = rows
    for keyword in ("CHECKSUM", "DATASUM"):  # the data changed; stale sums would fail fitsverify
        header.remove(keyword, ignore_missing=True, remove_all=True)
    return header


def _pad(n: int) -> bytes:
    return b"\0" * ((-n) % BLOCK)


def _plain_hdu_bytes(hdu) -> bytes:
    out = io.BytesIO()
    copy = hdu.copy()
    for keyword in ("CHECKSUM", "DATASUM"):
        copy.header.remove(keyword, ignore_missing=True, remove_all=True)
    fits.HDUList([fits.PrimaryHDU(), copy]).writeto(out)
    data = out.getvalue()
    return data[BLOCK:]  # drop the dummy primary (exactly one block: a bare header)


def big_event_files(obsid_dir: Path, target: str, mtime: int, sources: Sources) -> None:
    """The streaming-work files of BIG_OBSID, written in chunks (no per-row Python)."""
    obsid = obsid_dir.name
    with fits.open(io.BytesIO(sources.stamped("nustar/dummy_evt.evt", obsid, target))) as template:
        primary = template[0].header.copy()
        for keyword in ("CHECKSUM", "DATASUM"):
            primary.remove(keyword, ignore_missing=True, remove_all=True)
        events = template["EVENTS"]
        dtype = events.data.dtype
        real_rows = np.array(events.data, copy=True).view(np.ndarray)
        gti = _plain_hdu_bytes(template["GTI"])
        row_bytes = dtype.itemsize
        bit_columns = [column.name for column in events.columns if column.format.endswith("X")]

        # 1. Uncompressed, >= 200 MiB: the real rows repeated, each copy 100 s later.
        rows = BIG_EVENTS_MIN // row_bytes + 1
        path = obsid_dir / "event_cl" / f"nu{obsid_dir.name}A01_cl.evt"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            out.write(_header_bytes(primary))
            out.write(_header_bytes(_events_header(events.header, rows)))
            written = 0
            copy_index = 0
            chunk_copies = 64
            while written < rows:
                block = np.tile(real_rows, chunk_copies)
                offsets = np.repeat(np.arange(copy_index, copy_index + chunk_copies) * 100.0, len(real_rows))
                block["TIME"] = block["TIME"] + offsets.astype(">f8")
                take = min(len(block), rows - written)
                out.write(block[:take].tobytes())
                written += take
                copy_index += chunk_copies
            out.write(_pad(rows * row_bytes))
            out.write(gti)
        os.chmod(path, 0o644)
        os.utime(path, (mtime, mtime))

        # 2. Gzipped, >= 50 MiB compressed: generated events with full-entropy fields.
        rng = np.random.default_rng(20121213)
        rows = 72 * 1024 * 1024 // row_bytes
        path = obsid_dir / "event_uf" / f"nu{obsid_dir.name}A_uf.evt.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as raw_out:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw_out, compresslevel=6, mtime=0) as out:
                out.write(_header_bytes(primary))
                out.write(_header_bytes(_events_header(events.header, rows)))
                written = 0
                t0 = float(real_rows["TIME"][0])
                while written < rows:
                    n = min(200_000, rows - written)
                    block = np.frombuffer(rng.bytes(n * row_bytes), dtype=dtype).copy()
                    # Floating columns get finite values (random bits would include NaNs).
                    for name in dtype.names:
                        base = dtype[name].base
                        if base.kind == "f":
                            block[name] = rng.uniform(0, 4096, size=block[name].shape).astype(base)
                    # Bit columns (nX) must be left-justified: take them from the real rows.
                    for name in bit_columns:
                        block[name] = np.resize(real_rows[name], block[name].shape)
                    block["TIME"] = t0 + np.arange(written, written + n) * 0.00137
                    out.write(block.tobytes())
                    written += n
                out.write(_pad(rows * row_bytes))
                out.write(gti)
        os.chmod(path, 0o644)
        os.utime(path, (mtime, mtime))


def wide_hk(obsid_dir: Path, obsid: str, mtime: int) -> None:
    """WIDE_FILES small text files in hk/, each different (not FITS: .log)."""
    for i in range(WIDE_FILES):
        lines = [f"{obsid} slice {i:02d} row {r}: {(i * 7919 + r * 104729) % 1000003}" for r in range(20 + i)]
        write(obsid_dir / "hk" / f"nu{obsid}_s{i:02d}.log", ("\n".join(lines) + "\n").encode(), mtime)


def build(target: Path) -> None:
    sources = Sources()
    for table in catalog.TABLES.values():
        for row in table.rows:
            archive_path = table.archive_path(row)
            if archive_path is None:
                continue
            directory = target / Path(*[p for p in archive_path.split("/") if p])
            obsid = str(row[table.key])
            mtime = mjd_to_unix(row.get("processing_date") or row["public_date"])
            if table.mission == "nustar":
                nustar_tree(directory, obsid, row["name"], mtime, row["time"], sources)
                if obsid == BIG_OBSID:
                    big_event_files(directory, row["name"], mtime, sources)
                if obsid == WIDE_OBSID:
                    wide_hk(directory, obsid, mtime)
            else:
                chandra_tree(directory, obsid, row["name"], mtime, sources)
    # Directories: world-readable, with the mtime of their newest file.
    for dirpath, dirnames, filenames in os.walk(target / "FTP", topdown=False):  # children first
        os.chmod(dirpath, 0o755)
        times = [os.stat(os.path.join(dirpath, n)).st_mtime for n in filenames + dirnames]
        if times:
            newest = int(max(times))
            os.utime(dirpath, (newest, newest))


def write_manifest(target: Path) -> None:
    lines = []
    for dirpath, _, filenames in os.walk(target / "FTP"):
        for name in filenames:
            path = Path(dirpath) / name
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            lines.append(f"{path.relative_to(target).as_posix()}\t{path.stat().st_size}\t{digest.hexdigest()}")
    (target / "manifest.tsv").write_text("\n".join(sorted(lines)) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="data directory (default $HEASARC_DATA or build/heasarc-data)")
    parser.add_argument("--force", action="store_true", help="rebuild even if complete")
    args = parser.parse_args(argv)
    root = catalog.data_root(args.data).resolve()
    stamp = root / ".complete"
    if not args.force and stamp.exists() and stamp.read_text().strip() == VERSION:
        print(f"make-archive-data: {root} is complete ({VERSION}); nothing to do")
        return 0
    started = time.monotonic()
    root.parent.mkdir(parents=True, exist_ok=True)
    temp = root.parent / f".{root.name}.building-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    os.chmod(temp, 0o755)
    try:
        build(temp)
        write_manifest(temp)
        (temp / ".complete").write_text(VERSION + "\n")
        old = root.parent / f".{root.name}.old-{os.getpid()}"
        if root.exists():
            root.rename(old)
        temp.rename(root)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    files = sum(1 for _ in open(root / "manifest.tsv"))
    size = sum(int(line.split("\t")[1]) for line in open(root / "manifest.tsv"))
    print(f"make-archive-data: built {root}: {files} files, {size / 2**20:.1f} MiB "
          f"in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
