"""The tutorial's walk on a mount over the local HEASARC, checked against Debian's pyvo 1.2.1
asking the same server the same questions: targets by name and position, radii, every filter
operator, nested filters, a second table, .results.csv, and the errors users will hit."""

import csv
import errno
import math
import os
import sys
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import MountedTestCase  # noqa: E402

import pyvo  # noqa: E402
from astropy.coordinates import SkyCoord, name_resolve  # noqa: E402
import astropy.units as u  # noqa: E402

# pyvo and astropy's own noise (unclosed keep-alive sockets, non-VOUnit units of the real
# Xamin columns) is not what these tests look at.
warnings.simplefilter("ignore", ResourceWarning)
warnings.filterwarnings("ignore", module="astropy")

OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
       "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


class MountWalk(MountedTestCase):
    # -- what pyvo finds ----------------------------------------------------------------------
    def position(self, name):
        # astropy 5.2 takes a list of mirrors; the tutorial's SkyCoord.from_name, pointed here.
        with name_resolve.sesame_url.set([self.heasarc.resolver]):
            return SkyCoord.from_name(name, cache=False)

    def pyvo_rows(self, table, pos, radius_deg=1.0):
        service = pyvo.dal.SCSService(f"{self.heasarc.base}/xamin/vo/cone?showoffsets&table={table}&")
        result = service.search(pos=pos, radius=radius_deg * u.deg)
        names = result.fieldnames
        return [{name: row[name] for name in names} for row in result], names

    def key(self, row):
        return str(row["obsid"])

    def listing(self, *parts):
        return sorted(name for name in os.listdir(self.mount.p(*parts)) if not name.startswith(".results."))

    # -- tests ----------------------------------------------------------------------------------
    def test_root_lists_tables_with_cone_search(self):
        tables = os.listdir(self.mount.path)
        self.assertIn("numaster", tables)
        self.assertIn("chanmaster", tables)
        with self.assertRaises(FileNotFoundError):
            os.stat(self.mount.p("no_such_table"))

    def test_tutorial_filter_equals_pyvo(self):
        rows, _ = self.pyvo_rows("numaster", self.position("ngc 4151"))
        expected = sorted(self.key(r) for r in rows if r["exposure_a"] >= 50000)
        self.assertEqual(len(expected), 3)
        self.assertIn("60001111003", expected)
        self.assertIn("60001111005", expected)
        self.assertEqual(self.listing("numaster", "NGC4151", "exposure_a>=50000"), expected)

    def test_targets_by_name_and_position(self):
        for name in ["NGC4151", "NGC 4151", "ngc 4151", "M 31", "3C 273"]:
            with self.subTest(target=name):
                rows, _ = self.pyvo_rows("numaster", self.position(name))
                self.assertEqual(self.listing("numaster", name), sorted(self.key(r) for r in rows))
        ngc = self.position("NGC 4151")
        by_position = self.listing("numaster", f"{ngc.ra.deg!r},{ngc.dec.deg!r}")
        self.assertEqual(by_position, self.listing("numaster", "NGC4151"))
        self.assertIn("NGC4151", os.listdir(self.mount.p("numaster")))  # targets already looked up
        with self.assertRaises(FileNotFoundError):
            os.listdir(self.mount.p("numaster", "No Such Object 12345"))

    def test_radius(self):
        pos = self.position("NGC 4151")
        for segment, degrees in [("NGC4151@30arcsec", 30 / 3600), ("NGC4151@5arcmin", 5 / 60),
                                 ("NGC4151@0.5deg", 0.5), ("NGC4151@1.5deg", 1.5)]:
            with self.subTest(segment=segment):
                rows, _ = self.pyvo_rows("numaster", pos, degrees)
                self.assertEqual(self.listing("numaster", segment), sorted(self.key(r) for r in rows))
        self.assertGreater(len(self.listing("numaster", "NGC4151@1.5deg")), len(self.listing("numaster", "NGC4151")))

    def test_every_operator_numeric_and_string(self):
        rows, _ = self.pyvo_rows("numaster", self.position("NGC 4151"))
        exposure = float(next(r["exposure_a"] for r in rows if self.key(r) == "60001111002"))
        for op, compare in OPS.items():
            for value in [repr(exposure), "50000"]:
                with self.subTest(op=op, value=value):
                    expected = sorted(self.key(r) for r in rows
                                      if r["exposure_a"] is not None and not math.isnan(float(r["exposure_a"]))
                                      and compare(float(r["exposure_a"]), float(value)))
                    self.assertEqual(self.listing("numaster", "NGC4151", f"exposure_a{op}{value}"), expected)
        for op in ["=", "!="]:
            with self.subTest(op=op, column="status"):
                expected = sorted(self.key(r) for r in rows if OPS[op](str(r["status"]), "archived"))
                self.assertEqual(self.listing("numaster", "NGC4151", f"status{op}archived"), expected)

    def test_nested_filters(self):
        rows, _ = self.pyvo_rows("numaster", self.position("NGC 4151"))
        expected = sorted(self.key(r) for r in rows
                          if 20000 <= r["exposure_a"] < 60000 and str(r["status"]) == "archived")
        self.assertEqual(self.listing("numaster", "NGC4151", "exposure_a>=20000", "status=archived",
                                      "exposure_a<60000"), expected)

    def test_second_table(self):
        rows, _ = self.pyvo_rows("chanmaster", self.position("NGC 4151"))
        self.assertTrue(rows)
        self.assertEqual(self.listing("chanmaster", "NGC 4151"), sorted(self.key(r) for r in rows))
        rows_with_exposure = sorted(self.key(r) for r in rows if r["exposure"] > 100000)
        self.assertEqual(self.listing("chanmaster", "NGC 4151", "exposure>100000"), rows_with_exposure)

    def test_results_csv_has_every_row_and_column(self):
        rows, names = self.pyvo_rows("numaster", self.position("NGC 4151"))
        with open(self.mount.p("numaster", "NGC4151", ".results.csv")) as f:
            table = list(csv.reader(f))
        self.assertEqual(table[0], list(names))
        self.assertEqual(sorted(r[table[0].index("obsid")] for r in table[1:]), sorted(self.key(r) for r in rows))
        with open(self.mount.p("numaster", "NGC4151", "exposure_a>=50000", ".results.csv")) as f:
            filtered = list(csv.DictReader(f))
        self.assertEqual(len(filtered), 3)
        self.assertTrue(all(float(r["exposure_a"]) >= 50000 for r in filtered))
        with open(self.mount.p("numaster", "NGC4151", ".results.csv"), "rb") as f:
            self.assertEqual(os.stat(self.mount.p("numaster", "NGC4151", ".results.csv")).st_size, len(f.read()))

    def test_bad_filters_are_enoent_and_logged(self):
        self.mount.allow(r" warn filter: numaster: filter 'exposure>=50000': no column 'exposure'; ",
                         r" warn filter: numaster: filter 'exposure_a>=lots': column 'exposure_a' is "
                         r"numeric \(double\) and 'lots' is not a number$", once=True)
        with self.assertRaises(FileNotFoundError):
            os.listdir(self.mount.p("numaster", "NGC4151", "exposure>=50000"))
        log = self.mount.log()
        self.assertIn("'exposure'", log)
        self.assertIn("exposure_a", log)  # the valid columns are named
        with self.assertRaises(FileNotFoundError):
            os.listdir(self.mount.p("numaster", "NGC4151", "exposure_a>=lots"))
        self.assertIn("'lots' is not a number", self.mount.log())

    def test_proprietary_row_is_empty_and_logged(self):
        rows, _ = self.pyvo_rows("numaster", self.position("NGC 4151"))
        public = {self.key(r) for r in rows if str(r["status"]) == "archived"}
        private = [self.key(r) for r in rows if self.key(r) not in public]
        self.assertTrue(private, "the catalogue has a proprietary NGC 4151 row")
        self.assertEqual(os.listdir(self.mount.p("numaster", "NGC4151", private[0])), [])
        self.assertIn("no directory product", self.mount.log())

    def test_directory_product_labelled_text_html_is_still_mirrored(self):
        # The 2026 drift of the real DataLink service: the directory row's content_type says
        # text/html; its URL still ends in '/'.
        rows, _ = self.pyvo_rows("numaster", self.position("3C 273"))
        public = sorted(self.key(r) for r in rows if str(r["status"]) == "archived")
        self.assertTrue(public, "3C 273 has a public numaster row")
        self.heasarc.set_knobs(datalink_directory_content_type="text/html")
        try:
            listing = sorted(os.listdir(self.mount.p("numaster", "3C 273", public[0])))
        finally:
            self.heasarc.clear_knobs()
        self.assertEqual(self.heasarc.knobs()["datalink_directory_content_type"], "directory")
        self.assertIn("event_cl", listing)
        self.assertIn("pipe.log", listing)

    def test_read_only(self):
        row = self.mount.p("numaster", "NGC4151", "exposure_a>=50000", "60001111003")
        for action in [lambda: open(os.path.join(row, "pipe.log"), "a"),
                       lambda: open(os.path.join(row, "new.txt"), "w"),
                       lambda: os.mkdir(os.path.join(row, "newdir")),
                       lambda: os.remove(os.path.join(row, "pipe.log")),
                       lambda: os.rename(os.path.join(row, "pipe.log"), os.path.join(row, "x"))]:
            with self.assertRaises(OSError) as caught:
                action()
            self.assertEqual(caught.exception.errno, errno.EROFS)

    def test_stat_attributes(self):
        st = os.stat(self.mount.p("numaster", "NGC4151", "exposure_a>=50000", "60001111003", "pipe.log"))
        self.assertEqual(st.st_blksize, 4096)
        self.assertEqual(st.st_mode & 0o777, 0o444)


if __name__ == "__main__":
    unittest.main(verbosity=2)
