"""scripts/bench keeps working (a smoke test; it checks correctness, never speed):

1. `scripts/bench --quick` on a tiny case set (ceiling, small copy, header, ls; wget and
   heasarcfs, no peers) over a local HEASARC with 5 ms latency and no cap exits 0, and its
   report has the machine, the command, the targets table and one table per case whose every
   row passed its check;
2. a heasarcfs that fails (here: exits at once) fails the benchmark: exit status 1, its row
   FAIL, its error listed;
3. the checks it relies on catch wrong answers: check_tree a changed byte, a missing and an
   extra file; check_listing a wrong size; the FITS header reader finds the extension header
   where astropy does and reads exactly up to its data.

ctest label `bench` (and `integration`). Runs on Debian's python3 (astropy for 3.).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from heasarc_kit import DATA_DIR, SOURCE_DIR, read_manifest    # noqa: E402
from bench_lib import fits_header_reader  # noqa: E402
from bench_lib.checks import check_listing, check_tree, expected_files  # noqa: E402
from bench_lib.tools import ARCHIVE_DIR, BIG_EVT, BIG_OBSID, SMALL_OBSID, archive_file  # noqa: E402

BENCH = Path(SOURCE_DIR) / "scripts" / "bench"
CASES = ["ceiling", "small", "header", "ls"]
TITLES = {"ceiling": "Server ceiling", "small": "Cold `cp -r` of the tutorial's obsid",
          "header": "Primary + first extension header", "ls": "Cold `ls -lR`"}


def tables(report: str) -> dict[str, list[list[str]]]:
    """{section title: rows (cells) of its table}, for every '## ' section."""
    out: dict[str, list[list[str]]] = {}
    title = None
    for line in report.splitlines():
        if line.startswith("## "):
            title = line[3:]
            out[title] = []
        elif title and line.startswith("| ") and not line.startswith("|---"):
            out[title].append([c.strip() for c in line.strip("|").split("|")])
    return out


class BenchQuick(unittest.TestCase):
    def test_quick_run_reports_every_case_checked(self):
        work = tempfile.mkdtemp(prefix="test_bench_smoke-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        output = os.path.join(work, "benchmarks.md")
        argv = ["--quick", "--cases", ",".join(CASES), "--tools", "wget,heasarcfs",
                "--latency-ms", "5", "--rate-mib", "0", "--output", output, "--workdir", work]
        done = subprocess.run(["/usr/bin/python3", str(BENCH), *argv], capture_output=True, text=True,
                              timeout=800, stdin=subprocess.DEVNULL)
        print(done.stdout[-3000:], done.stderr[-2000:], file=sys.stderr)
        self.assertEqual(done.returncode, 0, "scripts/bench --quick failed")
        report = Path(output).read_text()
        self.assertIn("scripts/bench " + " ".join(argv), report)
        self.assertRegex(report, r"- machine: .+, \d+ cores, Linux \S+, [\d.]+ GiB memory")
        sections = tables(report)
        targets = {row[0]: row for row in sections["Targets"][1:]}
        self.assertIn("header: bytes moved", targets)
        self.assertRegex(targets["header: bytes moved"][2], r"^[\d.]+ KiB in \d+ requests$")
        self.assertRegex(targets["`ls -lR` cold, with the VO queries"][2], r"^[\d.]+ s, \d+ requests$")
        self.assertEqual(targets["cold copy vs `wget -r`"][3], "not measured")    # copy was not run
        for case in CASES:
            title = next((t for t in sections if t.startswith(TITLES[case])), None)
            self.assertIsNotNone(title, f"no section for {case}")
            header, *rows = sections[title]
            self.assertEqual(header[-1], "check")
            names = [r[0] for r in rows]
            expected = {"ceiling": ["1", "8", "16"], "small": ["wget", "heasarcfs"],
                        "header": ["wget", "heasarcfs"], "ls": ["heasarcfs"]}[case]
            self.assertEqual(names, expected, f"rows of {case}")
            for r in rows:
                self.assertEqual(r[-1], "ok", f"{case} {r[0]}: {r}")
        self.assertNotIn("## Failed runs", report)

    def test_a_failing_heasarcfs_fails_the_benchmark(self):
        work = tempfile.mkdtemp(prefix="test_bench_smoke-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        output = os.path.join(work, "benchmarks.md")
        env = dict(os.environ, HEASARCFS_BIN="/bin/false")       # a "daemon" that exits at once
        done = subprocess.run(["/usr/bin/python3", str(BENCH), "--quick", "--cases", "small", "--tools",
                               "heasarcfs", "--latency-ms", "0", "--rate-mib", "0", "--output", output,
                               "--workdir", work], capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL, env=env)
        self.assertEqual(done.returncode, 1, done.stdout[-2000:] + done.stderr[-1000:])
        sections = tables(Path(output).read_text())
        rows = {r[0]: r for r in sections[next(t for t in sections if t.startswith(TITLES["small"]))][1:]}
        self.assertEqual(rows["wget"][-1], "ok")
        self.assertEqual(rows["heasarcfs"][-1], "FAIL 1/1")
        self.assertRegex(Path(output).read_text(), r"## Failed runs\n\n- small heasarcfs: RuntimeError: heasarcfs exited with 1")


class BenchChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.manifest = read_manifest(DATA_DIR)

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="test_bench_checks-")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)

    def small_copy(self) -> str:
        dest = os.path.join(self.work, "copy")
        shutil.copytree(os.path.join(DATA_DIR, ARCHIVE_DIR.format(obsid=SMALL_OBSID)), dest)
        return dest

    def test_check_tree_catches_a_changed_missing_or_extra_file(self):
        expected = expected_files(self.manifest, SMALL_OBSID)
        dest = self.small_copy()
        self.assertIsNone(check_tree(dest, expected, SMALL_OBSID))
        victim = os.path.join(dest, sorted(expected)[0])
        with open(victim, "r+b") as f:
            first = f.read(1)
            f.seek(0)
            f.write(bytes([first[0] ^ 1]))
        self.assertRegex(check_tree(dest, expected, SMALL_OBSID), "sha256 differs")
        os.remove(victim)
        self.assertRegex(check_tree(dest, expected, SMALL_OBSID), "missing")
        shutil.copy(os.path.join(DATA_DIR, ARCHIVE_DIR.format(obsid=SMALL_OBSID), sorted(expected)[0]), victim)
        Path(dest, "extra.txt").write_text("x")
        self.assertRegex(check_tree(dest, expected, SMALL_OBSID), "extra")

    def test_check_listing_catches_a_wrong_size(self):
        expected = expected_files(self.manifest, SMALL_OBSID)
        dest = self.small_copy()
        ls = subprocess.run(["ls", "-lR", "--time-style=+%s", dest], capture_output=True, text=True,
                            check=True, timeout=60).stdout
        self.assertIsNone(check_listing(ls, dest, expected))
        rel, (size, _) = sorted(expected.items())[0]
        name = os.path.basename(rel)
        wrong = re.sub(rf" {size} (\d+ {re.escape(name)})$", rf" {size + 1} \1", ls, flags=re.M)
        self.assertNotEqual(wrong, ls)
        self.assertRegex(check_listing(wrong, dest, expected), "bytes, manifest says")

    def test_header_reader_reads_what_astropy_reads(self):
        from astropy.io import fits
        path = archive_file(DATA_DIR, BIG_OBSID, BIG_EVT)
        result = fits_header_reader.read_two_headers(path)
        with fits.open(path) as hdus:
            info = hdus.fileinfo(1)
        self.assertEqual(result["extension_offset"], info["hdrLoc"])
        self.assertEqual(result["bytes_read"], info["datLoc"])       # both headers, none of the data
        self.assertEqual(result["reads"], info["datLoc"] // 2880)


if __name__ == "__main__":
    unittest.main(verbosity=2)
