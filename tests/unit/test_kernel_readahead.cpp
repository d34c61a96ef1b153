#define BOOST_TEST_MODULE kernel_readahead
#include <boost/test/unit_test.hpp>

#include "fs/kernel_readahead.h"

using hfs::fs::mount_device;

namespace {

// Lines of a real /proc/self/mountinfo (Debian 12), with a FUSE mount added as libfuse makes it.
const char* const kMountinfo =
    "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "61 22 0:40 / /mnt/heasarc rw,nosuid,nodev,relatime shared:33 - fuse.heasarcfs heasarcfs "
    "ro,user_id=0,group_id=0\n"
    "62 22 0:41 / /tmp/my\\040mount\\134x rw,relatime shared:34 - fuse.heasarcfs heasarcfs ro\n";

}  // namespace

BOOST_AUTO_TEST_CASE(the_device_of_a_mount_point) {
  BOOST_TEST(mount_device(kMountinfo, "/mnt/heasarc").value() == "0:40");
  BOOST_TEST(mount_device(kMountinfo, "/").value() == "254:1");
}

BOOST_AUTO_TEST_CASE(escaped_mount_points_are_compared_unescaped) {
  BOOST_TEST(mount_device(kMountinfo, "/tmp/my mount\\x").value() == "0:41");
  BOOST_TEST(!mount_device(kMountinfo, "/tmp/my\\040mount\\134x"));
}

BOOST_AUTO_TEST_CASE(the_last_mount_on_a_path_wins) {
  std::string stacked = std::string(kMountinfo) + "70 61 0:55 / /mnt/heasarc rw - fuse.heasarcfs again ro\n";
  BOOST_TEST(mount_device(stacked, "/mnt/heasarc").value() == "0:55");
}

BOOST_AUTO_TEST_CASE(absent_or_malformed_lines_give_nothing) {
  BOOST_TEST(!mount_device(kMountinfo, "/mnt"));
  BOOST_TEST(!mount_device(kMountinfo, "/mnt/heasarc/"));
  BOOST_TEST(!mount_device("garbage\n\n1 2\n3 4 notadevice / /mnt/heasarc rw\n", "/mnt/heasarc"));
  BOOST_TEST(!mount_device("", "/"));
}
