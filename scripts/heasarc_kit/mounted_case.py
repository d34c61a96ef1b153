"""A test class sharing one local HEASARC and one default mount of it between its tests."""

from __future__ import annotations

import unittest

from .heasarc_process import LocalHeasarc
from .mount import Mount


class MountedTestCase(unittest.TestCase):
    """setUpClass starts `cls.heasarc` and mounts it as `cls.mount` (default options);
    tearDownClass unmounts and stops it; each test ends with the daemon's log checked, so the
    test that caused an unexpected line is the one that fails. Subclasses extending
    setUpClass call super().setUpClass() first."""

    @classmethod
    def setUpClass(cls):
        cls.heasarc = LocalHeasarc().start()
        cls.mount = Mount(cls.heasarc.registry, cls.heasarc.resolver)
        cls.mount.start()

    @classmethod
    def tearDownClass(cls):
        cls.mount.__exit__(None, None, None)
        cls.heasarc.stop()

    def setUp(self):
        self.addCleanup(self.mount.check_log)
