#include "fs/kernel_readahead.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/error.h"

namespace hfs::fs {
namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo (octal).
std::string unescape_octal(std::string_view text) {
  const auto octal = [&](std::size_t k) { return text[k] >= '0' && text[k] <= '7'; };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out.push_back(static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(text[i]);
  }
  return out;
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t at = 0;
  while (at < line.size()) {
    const auto start = line.find_first_not_of(' ', at);
    if (start == std::string_view::npos) break;
    const auto end = line.find(' ', start);
    fields.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    at = end;
  }
  return fields;
}

}  // namespace

std::optional<std::string> mount_device(std::string_view mountinfo, std::string_view mountpoint) {
  // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": the third field is
  // the device, the fifth the mount point. A later line mounted over an earlier one.
  std::optional<std::string> device;
  std::size_t at = 0;
  while (at < mountinfo.size()) {
    auto end = mountinfo.find('\n', at);
    if (end == std::string_view::npos) end = mountinfo.size();
    const auto fields = fields_of(mountinfo.substr(at, end - at));
    at = end + 1;
    if (fields.size() < 5 || fields[2].find(':') == std::string_view::npos) continue;
    if (unescape_octal(fields[4]) == mountpoint) device = std::string(fields[2]);
  }
  return device;
}

void set_kernel_readahead(const std::string& mountpoint, std::uint64_t bytes) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  if (!mountinfo) throw Error(errno ? errno : EIO, "cannot read /proc/self/mountinfo");
  std::stringstream text;
  text << mountinfo.rdbuf();
  const auto device = mount_device(text.str(), mountpoint);
  if (!device) throw Error(ENOENT, mountpoint + " is not in /proc/self/mountinfo");
  const std::string path = "/sys/class/bdi/" + *device + "/read_ahead_kb";
  std::ofstream out(path);
  if (!out) throw Error(errno ? errno : EACCES, "cannot open " + path + ": " + std::strerror(errno));
  out << bytes / 1024 << '\n';
  out.flush();
  if (!out) throw Error(errno ? errno : EIO, "cannot write " + path + ": " + std::strerror(errno));
}

}  // namespace hfs::fs
