#!/usr/bin/python3
"""The pyvo tutorial's walk against the local HEASARC, with Debian's pyvo 1.2.1 and astropy 5.2,
plus the registry, cone-search, DataLink and Sesame answers real clients depend on.

Starts its own local HEASARC on port 0 (scripts/heasarc_kit) and stops it.
"""

import io
import json
import math
import sys
import unittest
import urllib.parse
import warnings
from pathlib import Path

import requests
from astropy.io.votable import parse as parse_votable

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from heasarc_kit import SOURCE_DIR, LocalHeasarc    # noqa: E402
from local_heasarc import catalog  # noqa: E402

SAMPLES = SOURCE_DIR / "tests" / "data" / "samples"
NGC4151 = (182.63573325, 39.40585097)
SEP = ":::py VO sep:::"
PYVO_COLUMNS = ["ivoid", "res_type", "short_name", "res_title", "content_level",
                "res_description", "reference_url", "creator_seq", "created", "updated",
                "rights", "content_type", "source_format", "source_value", "region_of_regard",
                "waveband", "access_urls", "standard_ids", "intf_types", "intf_roles",
                "cap_descriptions"]
HEASARCFS_QUERY = ("SELECT ivoid, res_title, access_url, standard_id, intf_role "
                   "FROM rr.resource NATURAL JOIN rr.capability NATURAL JOIN rr.interface "
                   "WHERE ivoid LIKE 'ivo://nasa.heasarc/%' "
                   "AND standard_id LIKE 'ivo://ivoa.net/std/conesearch%' AND intf_role = 'std'")

H: LocalHeasarc | None = None


def setUpModule():
    global H
    H = LocalHeasarc().start()


def tearDownModule():
    if H is not None:
        H.stop()


def votable(content: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_votable(io.BytesIO(content))


def query_status(vt) -> tuple[str, str]:
    for res in vt.resources:
        for inf in res.infos:
            if inf.name == "QUERY_STATUS":
                return inf.value, (inf.content or "")
    for inf in vt.infos:
        if inf.name == "QUERY_STATUS":
            return inf.value, (inf.content or "")
    return "", ""


def tap(q: str, **extra) -> requests.Response:
    data = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": q}
    data.update(extra)
    return requests.post(H.registry + "/sync", data=data, timeout=30)


def cone_url(table="numaster") -> str:
    return f"{H.base}/xamin/vo/cone?showoffsets&table={table}&"


def expected_walk_obsids() -> list[str]:
    """What the tutorial should find, computed from the catalog independently of the server."""
    t = catalog.TABLES["numaster"]
    out = []
    for row in t.rows:
        r1, d1, r2, d2 = map(math.radians, (NGC4151[0], NGC4151[1], row[t.ra], row[t.dec]))
        s = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2
        dist = math.degrees(2 * math.asin(min(1.0, math.sqrt(s))))
        if dist <= 1.0 and row["exposure_a"] is not None and row["exposure_a"] >= 50000 \
                and t.archive_path(row):
            out.append(str(row["obsid"]))
    return out


def manifest_sizes() -> dict[str, int]:
    root = Path(catalog.data_root(None))
    sizes = {}
    for line in (root / "manifest.tsv").read_text().splitlines():
        path, size, _sha = line.split("\t")
        sizes[path.replace("//", "/")] = int(size)
    return sizes


class TutorialWalk(unittest.TestCase):
    """pyvo 1.2.1: ivoid2service -> SkyCoord.from_name -> SCSService.search -> getdatalink."""

    def test_1_ivoid2service_gives_local_cone_url(self):
        import pyvo
        import pyvo.registry.regtap as regtap
        old = regtap.REGISTRY_BASEURL
        regtap.REGISTRY_BASEURL = H.registry
        try:
            svc = pyvo.registry.ivoid2service("ivo://nasa.heasarc/numaster", "conesearch")
        finally:
            regtap.REGISTRY_BASEURL = old
        self.assertIsInstance(svc, pyvo.dal.SCSService)
        self.assertEqual(svc.baseurl, cone_url())

    def test_2_sesame_resolves_ngc4151(self):
        from astropy.coordinates import SkyCoord, name_resolve
        with name_resolve.sesame_url.set([H.resolver]):
            pos = SkyCoord.from_name("ngc 4151")
        self.assertAlmostEqual(pos.ra.deg, NGC4151[0], places=9)
        self.assertAlmostEqual(pos.dec.deg, NGC4151[1], places=9)

    def test_3_whole_walk_gives_the_three_directories(self):
        import pyvo
        import pyvo.registry.regtap as regtap
        from astropy.coordinates import SkyCoord, name_resolve
        old = regtap.REGISTRY_BASEURL
        regtap.REGISTRY_BASEURL = H.registry
        try:
            cs_service = pyvo.registry.ivoid2service("ivo://nasa.heasarc/numaster", "conesearch")
        finally:
            regtap.REGISTRY_BASEURL = old
        with name_resolve.sesame_url.set([H.resolver]):
            pos = SkyCoord.from_name("ngc 4151")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search_result = cs_service.search(pos, radius=1.0)
            # pyvo 1.2.1 bug (README section 1): SCSResults skips the adhoc mixin's __init__.
            search_result._adhocservices = [
                r for r in search_result.votable.resources
                if r.type == "meta" and r.utype == "adhoc:service"]
            obs_to_explore = [res for res in search_result if res["exposure_a"] >= 50000]
            links = []
            for obs in obs_to_explore:
                dlink = obs.getdatalink()
                dlink_to_dir = [dl for dl in dlink if dl["content_type"] == "directory"]
                if len(dlink_to_dir) == 0:
                    continue
                links.append(dlink_to_dir[0]["access_url"])
        expected = expected_walk_obsids()
        self.assertEqual(len(expected), 3, f"catalog should give the tutorial 3 rows: {expected}")
        self.assertIn("60001111003", expected)
        self.assertIn("60001111005", expected)
        want = [f"{H.base}/FTP/nustar/data/obs/{o[1:3]}/{o[0]}//{o}/" for o in expected]
        self.assertEqual(sorted(links), sorted(want))
        # every request the walk made is in the request log
        services = {e["service"] for e in H.log()}
        self.assertTrue({"registry", "sesame", "cone", "datalink"} <= services, services)


class Registry(unittest.TestCase):
    def post_captured(self, version: str) -> requests.Response:
        reqs = json.loads((SAMPLES / f"requests_pyvo{version}.json").read_text())
        post = next(r for r in reqs if r["method"] == "POST")
        self.assertEqual(post["path"], "/tap/sync")
        return requests.post(H.registry + "/sync", data=post["body"].encode(), timeout=30,
                             headers={"Content-Type": post["headers"]["Content-Type"]})

    def test_pyvo_181_request_gives_binary_21_columns(self):
        r = self.post_captured("1.8.1")
        self.assertEqual(r.status_code, 200)
        self.assertIn("votable", r.headers["Content-Type"])
        self.assertIn(b'<BINARY><STREAM encoding="base64">', r.content)
        self.assertNotIn(b"<TABLEDATA>", r.content)
        vt = votable(r.content)
        self.assertEqual(query_status(vt)[0], "OK")
        table = vt.get_first_table().to_table()
        self.assertEqual(table.colnames, PYVO_COLUMNS)
        self.assertEqual(len(table), 1)
        row = table[0]
        self.assertEqual(row["ivoid"], "ivo://nasa.heasarc/numaster")
        urls = row["access_urls"].split(SEP)
        stds = row["standard_ids"].split(SEP)
        roles = row["intf_roles"].split(SEP)
        types = row["intf_types"].split(SEP)
        self.assertEqual(len(urls), 4)
        self.assertEqual(len(stds), 4)
        self.assertIn(cone_url(), urls)
        i = urls.index(cone_url())
        self.assertEqual((stds[i], roles[i], types[i]),
                         ("ivo://ivoa.net/std/conesearch", "std", "vs:paramhttp"))
        self.assertIn("ivo://ivoa.net/std/tap#aux", stds)
        self.assertIn("vr:webbrowser", types)

    def test_pyvo_14_and_162_requests(self):
        for version, ncols in (("1.4", 17), ("1.6.2", 21)):
            r = self.post_captured(version)
            self.assertEqual(r.status_code, 200, version)
            vt = votable(r.content)
            self.assertEqual(query_status(vt)[0], "OK", version)
            table = vt.get_first_table().to_table()
            self.assertEqual(len(table.colnames), ncols, (version, table.colnames))
            self.assertIn(cone_url(), table[0]["access_urls"].split(SEP))

    def test_capabilities_point_here(self):
        r = requests.get(H.registry + "/capabilities", timeout=30)
        self.assertEqual(r.status_code, 200)
        self.assertIn(f"<accessURL use=\"full\">{H.registry}</accessURL>", r.text)
        self.assertNotIn("dc.zah.uni-heidelberg.de/tap<", r.text)

    def test_heasarcfs_listing_query(self):
        r = tap(HEASARCFS_QUERY)
        self.assertEqual(r.status_code, 200)
        vt = votable(r.content)
        self.assertEqual(query_status(vt)[0], "OK")
        t = vt.get_first_table().to_table()
        self.assertEqual(t.colnames, ["ivoid", "res_title", "access_url", "standard_id", "intf_role"])
        got = {row["ivoid"]: row for row in t}
        want = {f"ivo://nasa.heasarc/{name}".lower() for name in catalog.TABLES}
        want |= {e["ivoid"].lower() for e in catalog.REGISTRY_ONLY if e.get("has_cone")}
        self.assertEqual(set(got), want)
        self.assertEqual(len(t), len(want), "one row per cone-search interface")
        for name in catalog.TABLES:
            row = got[f"ivo://nasa.heasarc/{name}".lower()]
            self.assertEqual(row["access_url"], cone_url(name))
            self.assertEqual(row["standard_id"], "ivo://ivoa.net/std/conesearch")
            self.assertEqual(row["intf_role"], "std")
            self.assertEqual(row["res_title"], catalog.TABLES[name].title)

    def test_heasarcfs_single_table_query(self):
        q = HEASARCFS_QUERY.replace("ivoid LIKE 'ivo://nasa.heasarc/%'",
                                    "ivoid = 'ivo://nasa.heasarc/numaster'")
        t = votable(tap(q).content).get_first_table().to_table()
        self.assertEqual(len(t), 1)
        self.assertEqual(t[0]["access_url"], cone_url())

    def test_pyvo_121_ivoid2service_query(self):
        q = ("SELECT DISTINCT access_url, standard_id FROM rr.capability\n"
             "        NATURAL JOIN rr.interface\n        WHERE ivoid = 'ivo://nasa.heasarc/numaster'")
        t = votable(tap(q).content).get_first_table().to_table()
        self.assertEqual(len(t), 4)
        self.assertIn(cone_url(), list(t["access_url"]))

    def test_unknown_ivoid_is_empty(self):
        q = HEASARCFS_QUERY.replace("ivoid LIKE 'ivo://nasa.heasarc/%'",
                                    "ivoid = 'ivo://nasa.heasarc/no_such_table'")
        vt = votable(tap(q).content)
        self.assertEqual(query_status(vt)[0], "OK")
        self.assertEqual(len(vt.get_first_table().to_table()), 0)
        reqs = json.loads((SAMPLES / "requests_pyvo1.8.1.json").read_text())
        body = next(r for r in reqs if r["method"] == "POST")["body"]
        body = body.replace("numaster", "no_such_table")
        r = requests.post(H.registry + "/sync", data=body, timeout=30,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        vt = votable(r.content)
        self.assertEqual(query_status(vt)[0], "OK")
        self.assertEqual(len(vt.get_first_table().to_table()), 0)

    def test_boolean_structure(self):
        q = ("SELECT ivoid, standard_id FROM rr.capability NATURAL JOIN rr.interface "
             "WHERE (ivoid = 'ivo://nasa.heasarc/numaster' OR ivoid = 'ivo://nasa.heasarc/no') "
             "AND NOT (intf_type = 'vr:webbrowser') AND standard_id IS NOT NULL")
        t = votable(tap(q).content).get_first_table().to_table()
        self.assertEqual(sorted(t["standard_id"]),
                         ["ivo://ivoa.net/std/conesearch", "ivo://ivoa.net/std/tap#aux"])

    def test_unsupported_adql_is_a_query_error(self):
        for q, word in (("SELECT * FROM rr.resource", "SELECT *"),
                        ("SELECT ivoid FROM rr.res_subject", "rr.res_subject"),
                        ("SELECT ivoid FROM rr.resource WHERE 1=ivo_hasword(res_description, 'x')",
                         "ivo_hasword"),
                        ("SELECT ivoid FROM rr.resource WHERE ivoid IN (SELECT ivoid FROM rr.resource)",
                         "subqueries"),
                        ("SELEC ivoid", "SELECT")):
            r = tap(q)
            self.assertEqual(r.status_code, 200, q)
            status, message = query_status(votable(r.content))
            self.assertEqual(status, "ERROR", q)
            self.assertIn(word, message, q)

    def test_missing_query_is_400(self):
        r = requests.post(H.registry + "/sync", data={"REQUEST": "doQuery", "LANG": "ADQL"},
                          timeout=30)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(query_status(votable(r.content))[0], "ERROR")

    def test_get_and_lowercase_parameters(self):
        q = urllib.parse.quote("SELECT ivoid FROM rr.resource WHERE ivoid = 'ivo://nasa.heasarc/numaster'")
        r = requests.get(f"{H.registry}/sync?request=doQuery&lang=ADQL&query={q}", timeout=30)
        self.assertEqual(len(votable(r.content).get_first_table().to_table()), 1)


class ConeSearch(unittest.TestCase):
    def cone(self, query: str, path="/xamin/vo/cone") -> requests.Response:
        return requests.get(f"{H.base}{path}?{query}", timeout=30)

    def test_result_shape(self):
        r = self.cone("showoffsets&table=numaster&&RA=182.63573325&DEC=39.40585097&SR=1.0&VERB=2")
        self.assertEqual(r.status_code, 200)
        vt = votable(r.content)
        self.assertEqual(query_status(vt)[0], "OK")
        self.assertEqual(vt.version, "1.4")
        table = vt.get_first_table()
        names = [f.name for f in table.fields]
        t = catalog.TABLES["numaster"]
        self.assertEqual(names, [f.name for f in t.fields] + ["Search_Offset"])
        dl_fields = [f for f in table.fields if f.ID == "DataLinkID"]
        self.assertEqual([f.name for f in dl_fields], [t.datalink_field])
        offsets = list(table.to_table()["Search_Offset"])
        self.assertEqual(offsets, sorted(offsets))
        self.assertTrue(all(0 <= o <= 60.0 for o in offsets))
        self.assertGreaterEqual(len(offsets), 3)
        meta = [res for res in vt.resources if res.type == "meta"]
        self.assertEqual(len(meta), 1)
        self.assertEqual(meta[0].utype, "adhoc:service")
        params = {p.name: p.value for p in meta[0].params}
        self.assertEqual(params["standardID"], "ivo://ivoa.net/std/DataLink#links-1.0")
        self.assertEqual(params["accessURL"], f"{H.base}/xamin/vo/datalink/numaster")
        group = meta[0].groups[0]
        self.assertEqual(group.name, "inputParams")
        self.assertEqual([(p.name, p.ref) for p in group.entries], [("id", "DataLinkID")])
        text = r.text
        self.assertIn('<INFO name="Info: Search Radius" value="Search radius: 60\' from numaster"/>', text)

    def test_float_repr_verb_and_old_endpoint(self):
        r = self.cone("showoffsets&table=numaster&&RA=182.63573325000001&DEC=39.405850970000002&SR=1.0&VERB=1")
        table = votable(r.content).get_first_table()
        self.assertLess(len(table.fields), len(catalog.TABLES["numaster"].fields))
        r = self.cone("table=numaster&RA=182.63573325&DEC=39.40585097&SR=0.5",
                      path="/cgi-bin/vo/cone/coneGet.pl")
        vt = votable(r.content)
        self.assertEqual(query_status(vt)[0], "OK")
        self.assertGreaterEqual(len(vt.get_first_table().to_table()), 3)

    def test_true_angular_distance(self):
        # near the pole, RA differences shrink: a row 1 degree away in RA at dec 89.5 is close
        r = self.cone("showoffsets&table=numaster&&RA=0&DEC=90&SR=180&VERB=2")
        t = votable(r.content).get_first_table().to_table()
        self.assertEqual(len(t), len([row for row in catalog.TABLES["numaster"].rows
                                      if row.get("ra") is not None]))
        for row in t:
            self.assertAlmostEqual(row["Search_Offset"], (90.0 - row["dec"]) * 60.0, places=6)

    def test_errors(self):
        for q in ("showoffsets&table=numaster&&DEC=39.4&SR=1",
                  "showoffsets&table=numaster&&RA=abc&DEC=39.4&SR=1",
                  "showoffsets&table=numaster&&RA=182.6&DEC=95&SR=1",
                  "showoffsets&table=numaster&&RA=182.6&DEC=39.4&SR=0",
                  "showoffsets&table=numaster&&RA=182.6&DEC=39.4&SR=181",
                  "showoffsets&table=numaster&&RA=182.6&DEC=39.4&SR=-1",
                  "showoffsets&table=no_such_table&&RA=182.6&DEC=39.4&SR=1",
                  "showoffsets&table=numaster&&RA=182.6&DEC=39.4&SR=1&VERB=7"):
            r = self.cone(q)
            self.assertEqual(r.status_code, 200, q)
            status, message = query_status(votable(r.content))
            self.assertEqual(status, "ERROR", q)
            self.assertTrue(message.strip(), q)

    def test_pyvo_raises_on_error(self):
        import pyvo
        with self.assertRaises(pyvo.dal.DALQueryError):
            pyvo.dal.SCSService(cone_url("no_such_table")).search((182.6, 39.4), radius=1.0)


class DataLink(unittest.TestCase):
    def links(self, table: str, ident: str):
        r = requests.get(f"{H.base}/xamin/vo/datalink/{table}?ID={ident}", timeout=30)
        self.assertEqual(r.status_code, 200)
        return votable(r.content).get_first_table().to_table()

    def test_three_rows_and_tree_size(self):
        t = self.links("numaster", "60001111003")
        self.assertEqual(t.colnames, ["ID", "access_url", "service_def", "error_message",
                                      "description", "semantics", "content_type",
                                      "content_length"])
        self.assertEqual(len(t), 3)
        did = "ivo://nasa.heasarc/numaster?60001111003"
        self.assertTrue(all(x == did for x in t["ID"]))
        self.assertEqual(list(t["access_url"]), [
            f"{H.base}/xamin/bib?table=numaster&id=60001111003",
            f"{H.base}/xamin/vo/datalink?datalink_key&id={did}/nustar.obs",
            f"{H.base}/FTP/nustar/data/obs/00/6//60001111003/"])
        self.assertEqual(list(t["content_type"]), [
            "text/html", "application/x-votable+xml;content=datalink", "directory"])
        sizes = manifest_sizes()
        prefix = "FTP/nustar/data/obs/00/6/60001111003/"
        total = sum(s for p, s in sizes.items() if p.startswith(prefix))
        self.assertGreater(total, 0)
        self.assertEqual(int(t["content_length"][2]), total)

    def test_lowercase_id_and_unknown_id(self):
        r = requests.get(f"{H.base}/xamin/vo/datalink/numaster?id=60001111005", timeout=30)
        self.assertEqual(len(votable(r.content).get_first_table().to_table()), 3)
        t = self.links("numaster", "99999999999")
        self.assertEqual(len(t), 1)
        self.assertTrue(str(t["error_message"][0]).startswith("NotFoundFault"))

    def test_proprietary_has_no_directory(self):
        t = catalog.TABLES["numaster"]
        prop = next((r for r in t.rows if t.archive_path(r) is None), None)
        if prop is None:
            self.skipTest("catalog has no proprietary numaster row")
        links = self.links("numaster", str(prop[t.datalink_field]))
        self.assertNotIn("directory", list(links["content_type"]))
        self.assertFalse(any("/FTP/" in str(u) for u in links["access_url"]))

    def test_directory_content_type_knob(self):
        H.set_knobs(datalink_directory_content_type="text/html")
        try:
            t = self.links("numaster", "60001111003")
        finally:
            H.clear_knobs()
        self.assertEqual(list(t["content_type"]).count("text/html"), 2)
        self.assertEqual(list(self.links("numaster", "60001111003")["content_type"])[2],
                         "directory")


class Sesame(unittest.TestCase):
    def test_format_and_case(self):
        for db, name in (("A", "ngc%204151"), ("SNV", "NGC4151"), ("-oI/A", "NgC%20%20%204151")):
            r = requests.get(f"{H.resolver}{db}?{name}", timeout=30)
            self.assertEqual(r.status_code, 200)
            j = [l for l in r.text.splitlines() if l.startswith("%J ")]
            self.assertEqual(len(j), 1, r.text)
            ra, dec = j[0].split()[1:3]
            self.assertEqual((float(ra), float(dec)), NGC4151)
            self.assertIn(" = 12:10:32.5", j[0])
            self.assertTrue(r.text.rstrip().endswith("====") and "#====Done (" in r.text)

    def test_unknown_name_has_no_J(self):
        r = requests.get(f"{H.resolver}A?no%20such%20object%2042", timeout=30)
        self.assertEqual(r.status_code, 200)
        self.assertNotIn("%J", r.text)
        self.assertIn("*** Nothing found ***", r.text)
        from astropy.coordinates import SkyCoord, name_resolve
        with name_resolve.sesame_url.set([H.resolver]):
            with self.assertRaises(name_resolve.NameResolveError):
                SkyCoord.from_name("no such object 42")


if __name__ == "__main__":
    unittest.main(verbosity=2)
