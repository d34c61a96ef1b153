#!/usr/bin/python3
"""Bounded memory through a mount (README, "Memory"): the daemon's VmRSS after 10^5 distinct
coordinate lookups, the node count once the kernel forgets them, and the peak (VmHWM) of a
cone-search answer just under its 64 MiB body cap.

Memory, not time, is bounded: the figures come from the daemon's /proc/<pid>/status and from
`nodes` in /.heasarcfs/stats, and are printed to stderr. Writing 2 to /proc/sys/vm/drop_caches
(the tests run as root) makes the kernel drop the unused dentries and inodes, and so send FORGET
for each node it held.
"""

import errno
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import LocalHeasarc, Mount  # noqa: E402

MiB = 1 << 20
LOOKUPS = 100_000
# The README's bound ("Memory"), on VmRSS above its figure before the lookups, after each of
# two batches of 10^5 (the first forgotten before the second: nodes are freed and their
# memory reused). Measured: +53 MiB after the first batch when the kernel held all 10^5
# (about 550 bytes a node), +58 MiB after the second. The kernel may forget some nodes on its
# own meanwhile (memory pressure), which only lowers the figures.
LOOKUPS_RSS_BOUND = 128 * MiB
CONE_CAP = 64 * MiB                 # vo/body_caps.h: body_cap::cone_search
UNDER_CAP = CONE_CAP - 4096
# The peak while a cone answer of B bytes is read, parsed, named and sized, above the peak
# before it: measured PEAK_MEASURED; the bound is PEAK_FACTOR x B.
PEAK_FACTOR = 12
POSITION = "182.63573,39.40584"     # NGC 4151: numaster rows within the default 1 degree


def proc_status(pid: int) -> dict:
    """VmRSS and VmHWM of a process, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def mib(n: int) -> str:
    return f"{n / MiB:.1f} MiB"


class MountMemory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.heasarc = LocalHeasarc().start()

    @classmethod
    def tearDownClass(cls):
        cls.heasarc.stop()

    def setUp(self):
        self.heasarc.reset()
        # Generous: a loaded machine must not fail a memory test on time.
        self.mount = Mount(self.heasarc.registry, self.heasarc.resolver, timeout=120,
                           options=["timeout=120"])
        self.mount.start()
        self.addCleanup(self.mount.__exit__, None, None, None)
        self.pid = self.mount.process.pid

    def nodes(self) -> int:
        with open(self.mount.p(".heasarcfs", "stats")) as stats:
            return json.load(stats)["nodes"]

    def logged(self, wanted) -> list:
        """The request log once it holds an entry `wanted` accepts (the server logs a request
        after its answer is sent, so a client may have the answer first); 60 s at most."""
        deadline = time.monotonic() + 60
        while True:
            log = self.heasarc.log()
            if any(wanted(e) for e in log) or time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def look_up(self, batch: int) -> None:
        """10^5 distinct RA,Dec targets under numaster, each looked up once (os.stat)."""
        for i in range(LOOKUPS):
            os.stat(self.mount.p("numaster", f"{(i % 3600) / 10:.1f},{i // 3600 / 100 - 40 + batch:.2f}"))

    def forget_all(self, at_most: int) -> int:
        """Makes the kernel forget every unused node; waits (60 s at most) until the daemon
        holds at most `at_most` nodes, and returns how many it holds."""
        deadline = time.monotonic() + 60
        while True:
            with open("/proc/sys/vm/drop_caches", "w") as drop:
                drop.write("2\n")
            nodes = self.nodes()
            if nodes <= at_most or time.monotonic() > deadline:
                return nodes
            time.sleep(0.2)

    def test_coordinate_lookups_keep_memory_bounded(self):
        os.stat(self.mount.p("numaster"))  # the registry's answer, once
        requests_before = len(self.logged(lambda e: e["method"] == "POST"))
        before = proc_status(self.pid)
        nodes_before = self.nodes()

        self.look_up(0)
        after = proc_status(self.pid)
        nodes_after = self.nodes()
        # A position is parsed, not resolved: no request at all for 10^5 targets.
        self.assertEqual([f"{e['method']} {e['path']}" for e in self.heasarc.log()[requests_before:]], [])

        nodes_forgotten = self.forget_all(at_most=nodes_before)
        self.look_up(1)
        again = proc_status(self.pid)
        nodes_again_forgotten = self.forget_all(at_most=nodes_before)
        self.assertEqual([f"{e['method']} {e['path']}" for e in self.heasarc.log()[requests_before:]], [])

        print(f"\n  10^5 coordinate lookups: VmRSS {mib(before['VmRSS'])} before, {mib(after['VmRSS'])} after "
              f"(+{mib(after['VmRSS'] - before['VmRSS'])}, bound +{mib(LOOKUPS_RSS_BOUND)}), "
              f"VmHWM {mib(after['VmHWM'])}; nodes {nodes_before} before, {nodes_after} after, "
              f"{nodes_forgotten} once forgotten\n"
              f"  10^5 more after the forgets: VmRSS {mib(again['VmRSS'])} "
              f"(+{mib(again['VmRSS'] - before['VmRSS'])}, bound +{mib(LOOKUPS_RSS_BOUND)}), "
              f"VmHWM {mib(again['VmHWM'])}; nodes {nodes_again_forgotten} once forgotten",
              file=sys.stderr)
        self.assertLessEqual(after["VmRSS"] - before["VmRSS"], LOOKUPS_RSS_BOUND)
        self.assertLessEqual(nodes_forgotten, nodes_before)
        self.assertLessEqual(nodes_again_forgotten, nodes_before)
        self.assertLessEqual(again["VmRSS"] - before["VmRSS"], LOOKUPS_RSS_BOUND)

    def test_cone_answer_under_the_cap_has_a_bounded_peak(self):
        self.assertTrue(os.listdir(self.mount.p("numaster", POSITION)))  # warm: registry, one answer
        before = proc_status(self.pid)
        self.heasarc.set_knobs(cone_body_bytes=UNDER_CAP)
        rows = os.listdir(self.mount.p("numaster", "182.6,39.4"))
        after = proc_status(self.pid)
        def padded(entry):
            return entry["path"].startswith("/xamin/vo/cone") and "RA=182.6&" in entry["path"]
        sent = [e for e in self.logged(padded) if padded(e)]
        self.assertEqual([e["bytes"] for e in sent], [UNDER_CAP])
        rise = after["VmHWM"] - before["VmHWM"]
        print(f"\n  cone answer of {UNDER_CAP} bytes ({len(rows)} names): VmHWM {mib(before['VmHWM'])} before, "
              f"{mib(after['VmHWM'])} after (+{mib(rise)} = {rise / UNDER_CAP:.1f} x the body, "
              f"bound {PEAK_FACTOR} x), VmRSS {mib(after['VmRSS'])} after",
              file=sys.stderr)
        self.assertGreater(len(rows), 200_000)
        self.assertIn("PAD000000000000", rows)
        self.assertLessEqual(rise, PEAK_FACTOR * UNDER_CAP)

        # One byte over the cap: EFBIG, the transport's warn line naming the URL and the cap,
        # and the failed opendir's own line (fuse_ops logs every failed call once).
        cap_line = r"answer larger than 67108864 bytes, the cap for cone search answers"
        self.mount.allow(r" warn http: GET \S+RA=182\.7&DEC=39\.4&\S+: " + cap_line, once=True)
        self.mount.allow(r" warn opendir: inode \d+: File too large: GET \S+RA=182\.7&DEC=39\.4&\S+: " + cap_line,
                         once=True)
        self.heasarc.set_knobs(cone_body_bytes=CONE_CAP + 1)
        with self.assertRaises(OSError) as raised:
            os.listdir(self.mount.p("numaster", "182.7,39.4"))
        self.assertEqual(raised.exception.errno, errno.EFBIG)
        self.heasarc.clear_knobs()
        lines = [line for line in self.mount.log().splitlines() if cap_line in line]
        self.assertEqual([line.split()[2:4] for line in lines], [["warn", "http:"], ["warn", "opendir:"]], lines)
        self.mount.check_log()

if __name__ == "__main__":
    unittest.main(verbosity=2)
