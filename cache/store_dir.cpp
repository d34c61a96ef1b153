#include "cache/store_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "cache/object_store_options.h"
#include "common/error.h"
#include "common/log.h"

namespace hfs::cache::store_dir {
namespace {

namespace stdfs = std::filesystem;
constexpr std::string_view kLog = "cache";
// Deeper stray trees are left alone (logged): removal recurses, and a hostile tree must not
// exhaust the stack.
constexpr int kMaxRemoveDepth = 64;

std::string errno_text(int errnum) { return std::strerror(errnum); }

std::string octal_mode(mode_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The names in a directory (without "." and ".."), read through a duplicate of dir_fd.
std::vector<std::string> list_names(int dir_fd, int& error) {
  std::vector<std::string> names;
  error = 0;
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) {
    error = errno;
    return names;
  }
  DIR* dir = ::fdopendir(dup_fd);
  if (!dir) {
    error = errno;
    ::close(dup_fd);
    return names;
  }
  ::rewinddir(dir);  // the duplicate shares its offset with dir_fd
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  error = errno;
  ::closedir(dir);
  return names;
}

int remove_tree(int parent_fd, const std::string& name, int depth) {
  if (::unlinkat(parent_fd, name.c_str(), 0) == 0) return 0;  // a file, a symlink, a socket...
  int err = errno;
  if (err == ENOENT) return 0;
  if (err != EISDIR && err != EPERM) return err;  // Linux says EISDIR for a directory
  if (depth >= kMaxRemoveDepth) return ELOOP;
  UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno;
  int first_error = 0;
  for (const auto& child : list_names(fd.get(), first_error)) {
    int child_error = remove_tree(fd.get(), child, depth + 1);
    if (first_error == 0) first_error = child_error;
  }
  if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && first_error == 0) first_error = errno;
  return first_error;
}

bool is_lower_hex(std::string_view text) {
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

enum class FileKind { data, meta, temp };
struct ObjectFileName {
  std::uint64_t hash = 0;
  FileKind kind = FileKind::data;
};

// "<16 hex>.data", "<16 hex>.meta", "<16 hex>.meta.tmp"; nullopt for any other name.
std::optional<ObjectFileName> parse_object_file_name(std::string_view name) {
  if (name.size() < 17 || name[16] != '.' || !is_lower_hex(name.substr(0, 16))) return std::nullopt;
  ObjectFileName parsed;
  for (char c : name.substr(0, 16))
    parsed.hash = parsed.hash << 4 | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  std::string_view suffix = name.substr(17);
  if (suffix == "data") parsed.kind = FileKind::data;
  else if (suffix == "meta") parsed.kind = FileKind::meta;
  else if (suffix == "meta.tmp") parsed.kind = FileKind::temp;
  else return std::nullopt;
  return parsed;
}

void remove_logged(int dir_fd, const std::string& name, const stdfs::path& shown) {
  if (int err = remove_tree(dir_fd, name, 0); err != 0)
    log::warn(kLog, "cannot remove " + shown.string() + ": " + errno_text(err));
}

// Reads a whole file of at most `max_size` bytes; 0 or an errno (EFBIG when larger).
int read_whole(int fd, std::uint64_t max_size, std::string& out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno;
  if (static_cast<std::uint64_t>(st.st_size) > max_size) return EFBIG;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;  // shrank under us: decode() reports the truncation
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return 0;
}

struct FilePair {
  bool has_data = false, has_meta = false;
  struct stat data_stat {
  }, meta_stat{};
};

void scan_subdir(int sub_fd, const std::string& prefix, const stdfs::path& shown,
                 const std::function<std::uint64_t(const ObjectKey&)>& hash, ScanResult& result) {
  int list_error = 0;
  std::map<std::uint64_t, FilePair> pairs;
  for (const auto& name : list_names(sub_fd, list_error)) {
    struct stat st {};
    if (::fstatat(sub_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    auto parsed = parse_object_file_name(name);
    if (parsed && parsed->kind == FileKind::temp) {
      remove_logged(sub_fd, name, shown / name);
      ++result.temp_removed;
      continue;
    }
    if (!parsed || !S_ISREG(st.st_mode) || name.compare(0, 2, prefix) != 0) {
      remove_logged(sub_fd, name, shown / name);
      ++result.strays_removed;
      continue;
    }
    FilePair& pair = pairs[parsed->hash];
    (parsed->kind == FileKind::data ? pair.has_data : pair.has_meta) = true;
    (parsed->kind == FileKind::data ? pair.data_stat : pair.meta_stat) = st;
  }
  if (list_error != 0) log::warn(kLog, "cannot list " + shown.string() + ": " + errno_text(list_error));

  const std::uint64_t max_sidecar = sidecar::kFixedHeaderBytes + 2 * std::uint64_t{sidecar::kMaxNameBytes} + 8 +
                                    sidecar::block_count(sidecar::kMaxObjectSize) * sidecar::kRecordBytes;
  for (const auto& entry : pairs) {
    const std::uint64_t object_hash = entry.first;
    const FilePair& pair = entry.second;
    const std::string stem = object_file_stem(object_hash).substr(3);
    const std::string data_name = stem + ".data", meta_name = stem + ".meta";
    auto drop = [&](const std::string& problem, std::size_t& counter) {
      if (!problem.empty()) log::warn(kLog, "dropping cached object " + (shown / meta_name).string() + ": " + problem);
      if (pair.has_meta) remove_logged(sub_fd, meta_name, shown / meta_name);
      if (pair.has_data) remove_logged(sub_fd, data_name, shown / data_name);
      ++counter;
    };
    if (!pair.has_data || !pair.has_meta) {  // half an object: a crash between creating its files
      drop("", result.strays_removed);
      continue;
    }
    UniqueFd meta(::openat(sub_fd, meta_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    std::string bytes;
    int err = meta ? read_whole(meta.get(), max_sidecar, bytes) : errno;
    if (err != 0) {
      drop(err == EFBIG ? "larger than any sidecar" : "cannot read: " + errno_text(err), result.damaged_removed);
      continue;
    }
    std::string problem;
    auto decoded = sidecar::decode(bytes, problem);
    if (!decoded) {
      drop(problem, result.damaged_removed);
      continue;
    }
    if (hash(decoded->key) != object_hash) {
      drop("it names another object than its file name", result.damaged_removed);
      continue;
    }
    if (static_cast<std::uint64_t>(pair.data_stat.st_size) != decoded->object_size) {
      drop("data file is " + std::to_string(pair.data_stat.st_size) + " bytes, the object " +
               std::to_string(decoded->object_size),
           result.damaged_removed);
      continue;
    }
    bool any_present = false;
    for (const auto& record : decoded->records) any_present = any_present || record.present;
    if (!any_present) {
      drop("", result.empty_removed);
      continue;
    }
    result.objects.push_back(FoundObject{object_hash, std::move(*decoded), pair.meta_stat.st_mtim});
  }
}

}  // namespace

UniqueFd open_cache_dir(const stdfs::path& dir) {
  bool created = ::mkdir(dir.c_str(), 0700) == 0;
  if (!created && errno == ENOENT && dir.has_parent_path()) {
    // Missing parents (~/.cache on a fresh account) are ordinary directories.
    std::error_code ec;
    stdfs::create_directories(dir.parent_path(), ec);
    if (ec) throw Error(ec.value(), "cannot create cache dir " + dir.string() + ": " + ec.message());
    created = ::mkdir(dir.c_str(), 0700) == 0;
  }
  if (!created && errno != EEXIST)
    throw Error(errno, "cannot create cache dir " + dir.string() + ": " + errno_text(errno));
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw Error(errno, "cannot open cache dir " + dir.string() + ": " + errno_text(errno));
  // mkdir's mode passes through the umask, which may take the owner's bits away too.
  if (created && ::fchmod(fd.get(), 0700) != 0)
    throw Error(errno, "cannot set the mode of cache dir " + dir.string() + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw Error(errno, "cannot stat cache dir " + dir.string() + ": " + errno_text(errno));
  if (st.st_uid != ::geteuid())
    throw Error(EACCES, "cache dir " + dir.string() + " is owned by uid " + std::to_string(st.st_uid) +
                            ", not by this user (uid " + std::to_string(::geteuid()) + "): refusing to use it");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    throw Error(EACCES, "cache dir " + dir.string() + " is writable by group or others (mode " +
                            octal_mode(st.st_mode) +
                            "): refusing to use it (chmod 700 it, or choose another cache_dir)");
  return fd;
}

UniqueFd lock_cache_dir(int dir_fd, const stdfs::path& dir) {
  const stdfs::path shown = dir / "lock";
  int raw = ::openat(dir_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0 && errno == ELOOP) {  // a symlink in its place: not ours to follow
    ::unlinkat(dir_fd, "lock", 0);
    raw = ::openat(dir_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  UniqueFd fd(raw);
  if (!fd) throw Error(errno, "cannot open " + shown.string() + ": " + errno_text(errno));
  if (::fchmod(fd.get(), 0600) != 0)
    log::warn(kLog, "cannot set the mode of " + shown.string() + ": " + errno_text(errno));
  // flock is per open file description, so a second open in the same process conflicts too.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) throw Error(err, "cannot lock " + shown.string() + ": " + errno_text(err));
    char pid[32] = {};
    ssize_t n = ::pread(fd.get(), pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\r')) holder.pop_back();
    throw Error(EBUSY, "cache dir " + dir.string() + " is in use by another heasarcfs" +
                           (holder.empty() || holder.find_first_not_of("0123456789") != std::string::npos
                                ? std::string()
                                : " (pid " + holder + ")"));
  }
  // The holder's pid, for whoever finds the directory busy. Diagnostics only.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
  }
  return fd;
}

UniqueFd open_private_subdir(int parent_fd, const std::string& name, const stdfs::path& shown) {
  struct stat st {};
  if (::fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
    log::warn(kLog, "removing " + shown.string() + ": not a directory");
    if (int err = remove_tree(parent_fd, name, 0); err != 0)
      throw Error(err, "cannot remove " + shown.string() + ": " + errno_text(err));
  }
  bool created = ::mkdirat(parent_fd, name.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) throw Error(errno, "cannot create " + shown.string() + ": " + errno_text(errno));
  UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw Error(errno, "cannot open " + shown.string() + ": " + errno_text(errno));
  if (::fstat(fd.get(), &st) == 0 && (st.st_mode & 07777) != 0700 && ::fchmod(fd.get(), 0700) != 0)
    log::warn(kLog, "cannot set the mode of " + shown.string() + ": " + errno_text(errno));
  return fd;
}

int remove_tree_at(int parent_fd, const std::string& name) { return remove_tree(parent_fd, name, 0); }

int create_private_file(int dir_fd, const std::string& relative_path) {
  int fd = ::openat(dir_fd, relative_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  // The umask can only take bits away from 0600; it could take the owner's too.
  if (::fchmod(fd, 0600) != 0) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

ScanResult scan_objects(int objects_fd, const stdfs::path& objects_path,
                        const std::function<std::uint64_t(const ObjectKey&)>& hash) {
  ScanResult result;
  int list_error = 0;
  for (const auto& name : list_names(objects_fd, list_error)) {
    struct stat st {};
    if (::fstatat(objects_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISDIR(st.st_mode) || name.size() != 2 || !is_lower_hex(name)) {
      remove_logged(objects_fd, name, objects_path / name);
      ++result.strays_removed;
      continue;
    }
    UniqueFd sub(::openat(objects_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) {
      log::warn(kLog, "cannot open " + (objects_path / name).string() + ": " + errno_text(errno));
      continue;
    }
    scan_subdir(sub.get(), name, objects_path / name, hash, result);
  }
  if (list_error != 0) log::warn(kLog, "cannot list " + objects_path.string() + ": " + errno_text(list_error));
  return result;
}

}  // namespace hfs::cache::store_dir
