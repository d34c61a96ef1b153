"""heasarcfs where the user is not root: mounted by a non-root user through fusermount3,
inside an unprivileged user namespace (unshare -rm), and on a /dev/fuse descriptor a
privileged helper opened and mounted (the /dev/fd/N mount point: mount.fuse3's
drop_privileges,setuid=USER, and a small helper doing open + mount(2) + exec itself). Each
route lists a row and copies it, checked byte for byte against the archive manifest, and the
daemon exits cleanly once unmounted.

A test user is created with useradd (and removed after); the test skips only if it cannot
create one. It runs inside a private mount namespace (see mount_routes.py). There, where the
machine's /dev/fuse is root-only (a VM without udev: devtmpfs makes it 0600), a node of the
same device with Debian's udev mode 0666 is bound over /dev/fuse, as on a standard Debian
host: libfuse opens /dev/fuse itself before it falls back to fusermount3, and a user
namespace has no other way in. The machine's /dev/fuse is not changed."""

import ctypes
import os
import pwd
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import mount_routes as routes  # noqa: E402
from heasarc_kit import HEASARCFS, LocalHeasarc    # noqa: E402
from heasarc_kit.mount import unexpected_lines  # noqa: E402

ROW = ("numaster", "NGC4151", "exposure_a>=50000", "60001111003")
ROW_PREFIX = "FTP/nustar/data/obs/00/6/60001111003/"
USER = f"hfs-test-{os.getpid()}"
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4

setup_problem = None  # why the module could not set up, printed by the skip


def run(command, timeout=300, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)


def as_user(*command):
    return ["runuser", "-u", USER, "--"] + list(command)


def setUpModule():
    global setup_problem
    if not routes.in_private_namespace():
        setup_problem = "not root: cannot create a test user (useradd) nor a private mount namespace"
        return
    home = routes.scratch_dir("heasarcfs-user-home-")
    result = run(["useradd", "--system", "--home-dir", home, "--shell", "/bin/sh", "--user-group", USER])
    if result.returncode != 0:
        setup_problem = f"cannot create a test user with useradd: {result.stderr.strip()}"
        routes.remove_tree(home)
        return
    entry = pwd.getpwnam(USER)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)
    # Debian's /dev/fuse is 0666 (udev); a root-only one gets a 0666 node of the same device
    # bound over it, in this private namespace only.
    mode = stat.S_IMODE(os.stat("/dev/fuse").st_mode)
    if mode & 0o006 != 0o006:
        dev = routes.scratch_dir("heasarcfs-dev-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "heasarcfs-test-dev", dev], check=True)
        subprocess.run(["mknod", "-m", "666", os.path.join(dev, "fuse"), "c", "10", "229"], check=True)
        subprocess.run(["mount", "--bind", os.path.join(dev, "fuse"), "/dev/fuse"], check=True)
        print(f"note: /dev/fuse is {mode:04o} here; a 0666 node (Debian's udev mode) is bound over it "
              "in this test's private mount namespace", file=sys.stderr)


def tearDownModule():
    if setup_problem is None and routes.in_private_namespace():
        home = pwd.getpwnam(USER).pw_dir
        run(["userdel", USER])
        routes.remove_tree(home)


class Unprivileged(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if setup_problem:
            raise unittest.SkipTest(setup_problem)
        cls.entry = pwd.getpwnam(USER)
        cls.work = routes.scratch_dir("heasarcfs-unprivileged-")
        routes.put_on_default_path(str(HEASARCFS), cls.work)
        # The test user runs that copy (the build tree may sit under a directory only root can
        # enter: a checkout in a 0700 home or mktemp -d).
        cls.binary = os.path.join(cls.work, "sbin", "heasarcfs")
        cls.heasarc = LocalHeasarc().start()
        cls.expected_row = routes.manifest_under(ROW_PREFIX)

    @classmethod
    def tearDownClass(cls):
        cls.heasarc.stop()
        routes.remove_tree(cls.work)

    def setUp(self):
        # A directory of the test user's: the mount point, the cache, the copies, the log.
        self.dir = os.path.join(self.work, self._testMethodName)
        os.mkdir(self.dir, 0o755)
        os.chown(self.dir, self.entry.pw_uid, self.entry.pw_gid)
        self.mnt = os.path.join(self.dir, "mnt")
        self.run_as_user("mkdir", self.mnt, os.path.join(self.dir, "copies"))
        self.addCleanup(routes.unmount_quietly, self.mnt)

    def run_as_user(self, *command):
        result = run(as_user(*command))
        self.assertEqual(result.returncode, 0, f"{command}: {result.stderr}")
        return result

    def service_options(self, cache=True):
        options = [f"registry={self.heasarc.registry}", f"resolver={self.heasarc.resolver}"]
        if cache:
            options.append(f"cache_dir={os.path.join(self.dir, 'cache')}")
        return options

    def assert_row_copied(self, copy):
        self.assertEqual(routes.tree_of(copy), self.expected_row)
        for root, dirs, files in os.walk(copy):
            for name in dirs + files:
                self.assertEqual(os.stat(os.path.join(root, name)).st_uid, self.entry.pw_uid)

    def assert_clean_log(self, path):
        with open(path, errors="replace") as f:
            log = f.read()
        self.assertEqual(unexpected_lines(log, []), [], log)
        return log

    def start_daemon_as_user(self, options):
        log = os.path.join(self.dir, "heasarcfs.log")
        with open(log, "wb") as log_file:
            process = subprocess.Popen(as_user(self.binary, self.mnt, "-f", "-o", ",".join(options)),
                                       stdout=log_file, stderr=log_file)
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait(30)))
        routes.wait_until(lambda: routes.mount_entry(self.mnt), 30, "the user's mount", process,
                          lambda: routes.read_text(log))
        return process, log

    def test_a_user_mounts_through_fusermount3(self):
        process, log = self.start_daemon_as_user(self.service_options())
        entry = routes.mount_entry(self.mnt)
        self.assertEqual(entry[2], "fuse.heasarcfs")
        self.assertIn(f"user_id={self.entry.pw_uid}", entry[3])
        # fusermount3 recorded the mount as the user's (utab): the user may unmount it.
        copy = os.path.join(self.dir, "copies", "row")
        self.run_as_user("cp", "-r", os.path.join(self.mnt, *ROW), copy)
        self.assert_row_copied(copy)
        # Without allow_other the mount is the user's alone: root gets EACCES from the kernel.
        with self.assertRaises(PermissionError):
            os.listdir(self.mnt)
        self.run_as_user("fusermount3", "-u", self.mnt)
        self.assertEqual(process.wait(60), 0)
        self.assertIsNone(routes.mount_entry(self.mnt))
        self.assert_clean_log(log)

    def test_allow_other_needs_user_allow_other(self):
        with open("/etc/fuse.conf") as f:
            permitted = any(line.strip() == "user_allow_other" for line in f)
        options = self.service_options() + ["allow_other"]
        if permitted:
            # The site allows it: others (root here) may enter the user's mount.
            process, log = self.start_daemon_as_user(options)
            self.assertIn("60001111003", os.listdir(os.path.join(self.mnt, *ROW[:3])))
            self.run_as_user("fusermount3", "-u", self.mnt)
            self.assertEqual(process.wait(60), 0)
            self.assert_clean_log(log)
        else:
            # Debian's default /etc/fuse.conf: fusermount3 refuses and says why; nothing is mounted.
            result = run(as_user(self.binary, self.mnt, "-f", "-o", ",".join(options)), timeout=60)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("user_allow_other", result.stderr)
            self.assertIsNone(routes.mount_entry(self.mnt))

    def test_inside_an_unprivileged_user_namespace(self):
        log = os.path.join(self.dir, "heasarcfs.log")
        copy = os.path.join(self.dir, "copies", "row")
        # As the user: a new user and mount namespace (root inside, the user outside), where
        # heasarcfs mounts with mount(2) itself; the mount is seen inside only.
        script = f"""
set -eu
{self.binary} {self.mnt} -f -o {",".join(self.service_options())} >{log} 2>&1 &
daemon=$!
for i in $(seq 600); do
  grep -q " {self.mnt} fuse.heasarcfs " /proc/self/mounts && break
  kill -0 $daemon 2>/dev/null || {{ echo "heasarcfs exited before mounting" >&2; exit 1; }}
  sleep 0.05
done
grep " {self.mnt} " /proc/self/mounts
echo "uid inside: $(id -u)"
cp -r '{os.path.join(self.mnt, *ROW)}' {copy}
umount {self.mnt}
status=0; wait $daemon || status=$?
echo "daemon exit status: $status"
"""
        result = run(as_user("unshare", "-rm", "sh", "-c", script), timeout=600)
        with open(log, errors="replace") as f:
            self.assertEqual(result.returncode, 0, result.stderr + "\n" + f.read())
        self.assertIn(" fuse.heasarcfs ", result.stdout)
        self.assertIn("uid inside: 0", result.stdout)
        self.assertIn("daemon exit status: 0", result.stdout)
        self.assertIsNone(routes.mount_entry(self.mnt), "the namespace's mount is not seen outside")
        self.assert_row_copied(copy)
        self.assert_clean_log(log)

    def test_descriptor_from_mount_fuse3_drop_privileges(self):
        # mount.fuse3 opens /dev/fuse and mounts as root, drops every capability, becomes the
        # user and runs `heasarcfs heasarcfs /dev/fd/N -o ...`. No cache_dir: mount(8) gives
        # no HOME, so the default cache comes from the user's passwd entry.
        options = ["ro", "allow_other", "drop_privileges", f"setuid={USER}"] + self.service_options(cache=False)
        result = run(["mount", "-t", "fuse.heasarcfs", "heasarcfs", self.mnt, "-o", ",".join(options)])
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = routes.mount_entry(self.mnt)
        self.assertEqual(entry[:3], ["heasarcfs", self.mnt, "fuse.heasarcfs"])
        daemons = [pid for pid in routes.heasarcfs_processes()
                   if any(arg.startswith(b"/dev/fd/") for arg in routes.argv_of(pid))
                   and any(self.heasarc.registry.encode() in arg for arg in routes.argv_of(pid))]
        self.assertEqual(len(daemons), 1, "one daemon serving a /dev/fd/N mount point")
        daemon = daemons[0]
        self.assertEqual(routes.status_field(daemon, "Uid").split()[0], str(self.entry.pw_uid))
        self.assertEqual(int(routes.status_field(daemon, "CapEff"), 16), 0, "no capabilities left")
        copy = os.path.join(self.dir, "copies", "row")
        self.run_as_user("cp", "-r", os.path.join(self.mnt, *ROW), copy)
        self.assert_row_copied(copy)
        self.assertTrue(os.path.isdir(os.path.join(self.entry.pw_dir, ".cache", "heasarcfs")),
                        "the default cache is in the user's home")
        # The helper mounted it, so root unmounts it; the daemon then ends.
        self.assertEqual(run(["umount", self.mnt]).returncode, 0)
        routes.wait_until(lambda: not os.path.exists(f"/proc/{daemon}"), 60, "the daemon exits after umount")

    def test_descriptor_from_a_small_helper(self):
        # What a container runtime or a site's setuid helper does: open /dev/fuse, mount it
        # with fd=N as root, hand the descriptor to heasarcfs running as the user.
        fd = os.open("/dev/fuse", os.O_RDWR)
        libc = ctypes.CDLL(None, use_errno=True)
        data = f"fd={fd},rootmode=40000,user_id={self.entry.pw_uid},group_id={self.entry.pw_gid},allow_other"
        if libc.mount(b"heasarcfs", self.mnt.encode(), b"fuse.heasarcfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                      data.encode()) != 0:
            error = ctypes.get_errno()
            os.close(fd)
            self.fail(f"mount(2) of fd {fd}: {os.strerror(error)}")
        log = os.path.join(self.dir, "heasarcfs.log")
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                ["setpriv", f"--reuid={self.entry.pw_uid}", f"--regid={self.entry.pw_gid}", "--init-groups",
                 "--inh-caps=-all", "--bounding-set=-all", self.binary, f"/dev/fd/{fd}", "-f",
                 "-o", ",".join(self.service_options())],
                stdout=log_file, stderr=log_file, pass_fds=(fd,))
        os.close(fd)  # the daemon holds the only descriptor now
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait(30)))
        copy = os.path.join(self.dir, "copies", "row")
        self.run_as_user("cp", "-r", os.path.join(self.mnt, *ROW), copy)
        self.assert_row_copied(copy)
        self.assertEqual(routes.status_field(process.pid, "Uid").split()[0], str(self.entry.pw_uid))
        self.assertEqual(run(["umount", self.mnt]).returncode, 0)
        self.assertEqual(process.wait(60), 0)
        text = self.assert_clean_log(log)
        self.assertIn(f"on /dev/fd/{fd}", text)


if __name__ == "__main__":
    routes.reexec_in_private_mount_namespace()
    unittest.main(verbosity=2)
