"""The local HEASARC works from a checkout inside a directory only its owner can enter (mode
0700: Debian 12's home directories, every `mktemp -d`), run as root and as an ordinary user;
when Apache still cannot read the archive data, the run fails at start with one line saying
why instead of answering 403 later.

Each case copies the server's part of this checkout (scripts/local-heasarc, the
scripts/local_heasarc package, the capabilities sample) into a fresh 0700 directory with a
small generated archive (three files of one NuSTAR observation, its manifest and .complete
stamp), starts the server from there on port 0 and fetches an archive file (checked against
the manifest's size and sha256), the observation's listing, its DataLink answer (the
directory's content_length is the manifest's total) and a Sesame answer.
"""

import hashlib
import os
import pwd
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import PYTHON, SOURCE_DIR, LocalHeasarc, read_manifest    # noqa: E402

CHECKOUT_PARTS = ["scripts/local-heasarc", "scripts/local_heasarc",
                  "tests/data/samples/pyvo_registry_tests_data_capabilities.xml"]
OBSID = "60001111003"
OBS_DIR = f"FTP/nustar/data/obs/00/6/{OBSID}/"
# path under OBS_DIR -> size; the event file is larger than the proxy's 1 MiB buffer
FILES = {"README.txt": 2_000, "event_cl/nu60001111003A01_cl.evt.gz": 1_500_000,
         "hk/nu60001111003_att.fits.gz": 70_000}
NGC4151_J = "%J 182.63573325 +39.40585097"
VOTABLE = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def ordinary_user():
    """The account the 'ordinary user' cases run as: nobody when we are root, else ourselves."""
    return pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())


def make_checkout(owner) -> Path:
    """A 0700 directory holding a checkout of the server and a small archive; returns the
    checkout's root. Owned by `owner` (a pwd entry)."""
    top = Path(tempfile.mkdtemp(prefix="heasarc-0700-"))
    os.chmod(top, 0o700)
    checkout = top / "heasarcfs"
    for part in CHECKOUT_PARTS:
        source, target = SOURCE_DIR / part, checkout / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    data = checkout / "build" / "heasarc-data"
    rng = random.Random(700)
    lines = []
    for relative, size in FILES.items():
        path = data / OBS_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        content = rng.randbytes(size)
        path.write_bytes(content)
        lines.append(f"{OBS_DIR}{relative}\t{size}\t{hashlib.sha256(content).hexdigest()}")
    (data / "manifest.tsv").write_text("\n".join(sorted(lines)) + "\n")
    (data / ".complete").write_text("test_local_heasarc_0700\n")
    for root, dirs, files in os.walk(top):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, owner.pw_uid, owner.pw_gid)
    assert stat.S_IMODE(top.stat().st_mode) == 0o700
    return checkout


def setpriv_prefix(user) -> list[str]:
    if user.pw_uid == os.geteuid():
        return []
    return ["/usr/bin/setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
            "--clear-groups", "--"]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


class LocalHeasarcIn0700(unittest.TestCase):
    def serve_and_check(self, user) -> None:
        checkout = make_checkout(user)
        self.addCleanup(shutil.rmtree, checkout.parent, True)
        data = checkout / "build" / "heasarc-data"
        manifest = read_manifest(data)
        # The request log goes inside the checkout: the fixture's own temp dir is ours (0700).
        heasarc = LocalHeasarc(source_dir=checkout, data=str(data),
                               request_log=str(checkout / "requests.jsonl"),
                               command_prefix=setpriv_prefix(user))
        heasarc.start()
        self.addCleanup(heasarc.stop)

        control = get(heasarc.control).decode()
        self.assertIn(str(data), control)                  # it serves the 0700 checkout's data
        for relative in FILES:
            size, sha = manifest[OBS_DIR + relative]
            content = get(heasarc.base + "/" + OBS_DIR + relative)
            self.assertEqual(len(content), size, relative)
            self.assertEqual(hashlib.sha256(content).hexdigest(), sha, relative)
        listing = get(heasarc.base + "/" + OBS_DIR).decode()
        for name in ("README.txt", "event_cl/", "hk/"):
            self.assertIn(f'href="{name}"', listing)

        datalink = ET.fromstring(get(f"{heasarc.base}/xamin/vo/datalink/numaster?ID={OBSID}"))
        rows = [[td.text for td in tr.iter(VOTABLE + "TD")] for tr in datalink.iter(VOTABLE + "TR")]
        directory = [r for r in rows if r[4] == "Observation directory"]
        self.assertEqual(len(directory), 1, rows)
        self.assertTrue(directory[0][1].endswith(f"/{OBSID}/"), directory[0])
        self.assertEqual(int(directory[0][7]), sum(size for size, _ in manifest.values()))

        sesame = get(heasarc.resolver + "-oI/A?NGC%204151").decode()
        self.assertIn(NGC4151_J, sesame)

        statuses = {(e["path"], e["status"]) for e in heasarc.log()}
        self.assertFalse([s for s in statuses if s[1] >= 400], statuses)
        self.assertNotRegex(heasarc.stderr(), r"(?i)warning|error|traceback")

    @unittest.skipUnless(os.geteuid() == 0, "the root case needs root (CI runs as root)")
    def test_as_root(self):
        self.serve_and_check(pwd.getpwuid(0))

    def test_as_ordinary_user(self):
        self.serve_and_check(ordinary_user())

    def test_unreadable_data_fails_at_start_with_one_line(self):
        # Apache runs as the invoking ordinary user, who cannot enter this directory: the
        # server must stop at once and say so (as root, Apache can read anything it serves).
        user = ordinary_user()
        checkout = make_checkout(user)
        self.addCleanup(shutil.rmtree, checkout.parent, True)
        data = checkout / "build" / "heasarc-data"
        locked = data / "FTP" / "nustar"
        os.chmod(locked, 0)
        self.addCleanup(os.chmod, locked, 0o755)
        run = subprocess.run(
            setpriv_prefix(user) + [PYTHON, str(checkout / "scripts" / "local-heasarc"),
                                    "--port", "0", "--data", str(data)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertNotIn("ready", run.stdout.split())
        lines = run.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, run.stderr)
        self.assertRegex(lines[0], r"^local-heasarc: Apache, running as \S+, cannot serve the "
                                   r"archive data in " + re.escape(str(data)))
        self.assertIn(str(locked), lines[0])
        self.assertIn("Permission denied", lines[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
