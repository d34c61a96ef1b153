// ArchiveClient over a local copy of the /FTP/ tree (see vo/local_archive_client.h).
#include "vo/local_archive_client.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/error.h"
#include "common/log.h"
#include "common/thread_annotations.h"
#include "common/unique_fd.h"
#include "vo/archive_path.h"
#include "vo/url_codec.h"

namespace hfs::vo {
namespace {

constexpr const char* kComponent = "archive";
constexpr std::string_view kFileScheme = "file://";
// Local directories found missing, remembered so that what lies below one is not logged again.
constexpr std::size_t kMaxMissingDirectories = 4096;

bool is_missing(int errnum) { return errnum == ENOENT || errnum == ENOTDIR; }

class LocalArchiveClient final : public ArchiveClient {
 public:
  LocalArchiveClient(std::filesystem::path root, std::shared_ptr<ArchiveClient> fallback)
      : root_(std::move(root)), fallback_(std::move(fallback)) {}

  std::vector<IndexEntry> list(const std::string& dir_url, const CallContext& call) override {
    const std::string path = local_path(dir_url);
    UniqueFd dir_fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd) {
      const int errnum = errno;
      if (!is_missing(errnum)) throw Error(errnum, "listing " + path + ": " + std::strerror(errnum));
      if (note_missing_directory(path))
        log::info(kComponent, "directory " + path +
                                  " is not in the local archive: listing it (and what is below it) "
                                  "over HTTP, " +
                                  dir_url);
      return fallback_->list(dir_url, call);
    }
    const int listed_fd = ::dup(dir_fd.get());
    if (listed_fd < 0) throw Error(errno, "listing " + path + ": " + std::strerror(errno));
    DIR* dir = ::fdopendir(listed_fd);
    if (!dir) {
      const int errnum = errno;
      ::close(listed_fd);
      throw Error(errnum, "listing " + path + ": " + std::strerror(errnum));
    }
    std::string base = dir_url;
    if (base.back() != '/') base += '/';
    std::vector<IndexEntry> entries;
    int read_error = 0;
    for (;;) {
      errno = 0;
      const dirent* found = ::readdir(dir);
      if (!found) {
        read_error = errno;
        break;
      }
      std::string name = found->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      // Follows symbolic links: a mirror may link files in; a dangling link is no entry.
      if (::fstatat(dir_fd.get(), name.c_str(), &st, 0) != 0) continue;
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
      IndexEntry entry;
      entry.name = name;
      entry.is_dir = S_ISDIR(st.st_mode);
      entry.url = base + percent_encode(name, "") + (entry.is_dir ? "/" : "");
      entry.mtime = static_cast<std::int64_t>(st.st_mtime);
      if (!entry.is_dir) entry.approx_size = static_cast<std::uint64_t>(st.st_size);
      entries.push_back(std::move(entry));
    }
    ::closedir(dir);
    if (read_error != 0) throw Error(read_error, "listing " + path + ": " + std::strerror(read_error));
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return entries;
  }

  ObjectInfo stat(const std::string& url, const CallContext& call) override {
    const std::string path = local_path(url);
    int errnum = 0;
    if (auto info = stat_local(path, errnum)) return *info;
    if (!is_missing(errnum)) throw Error(errnum, "stat " + path + ": " + std::strerror(errnum));
    if (!under_missing_directory(path))
      log::info(kComponent, "file " + path + " is not in the local archive: reading it over HTTP, " + url);
    return fallback_->stat(url, call);
  }

  std::vector<StatResult> stat_many(const std::vector<std::string>& urls, unsigned max_parallel,
                                    const CallContext& call) override {
    std::vector<StatResult> results(urls.size());
    std::vector<std::size_t> missing;
    std::vector<std::string> missing_urls;
    for (std::size_t i = 0; i < urls.size(); ++i) {
      try {
        const std::string path = local_path(urls[i]);
        int errnum = 0;
        if (auto info = stat_local(path, errnum)) {
          results[i].info = std::move(info);
        } else if (is_missing(errnum)) {
          if (!under_missing_directory(path))
            log::info(kComponent, "file " + path + " is not in the local archive: reading it over HTTP, " + urls[i]);
          missing.push_back(i);
          missing_urls.push_back(urls[i]);
        } else {
          results[i].errnum = errnum;
          results[i].message = "stat " + path + ": " + std::strerror(errnum);
        }
      } catch (const Error& error) {
        results[i].errnum = error.errnum();
        results[i].message = error.what();
      }
    }
    if (!missing.empty()) {
      auto asked = fallback_->stat_many(missing_urls, max_parallel, call);
      for (std::size_t j = 0; j < missing.size(); ++j) results[missing[j]] = std::move(asked[j]);
    }
    return results;
  }

  std::string read(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) override {
    auto path = local_path_of(expected);
    if (!path) return fallback_->read(expected, offset, length);
    if (offset >= expected.size || length == 0) return "";
    length = std::min(length, expected.size - offset);
    UniqueFd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw Error(errno == ENOENT ? ESTALE : errno, "open " + *path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw Error(errno, "stat " + *path + ": " + std::strerror(errno));
    if (static_cast<std::uint64_t>(st.st_size) != expected.size || st.st_mtime != expected.mtime)
      throw Error(ESTALE, *path + " changed since it was listed (size or mtime)");
    std::string bytes(length, '\0');
    std::uint64_t done = 0;
    while (done < length) {
      ssize_t n = ::pread(fd.get(), bytes.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(errno, "read " + *path + ": " + std::strerror(errno));
      if (n == 0) throw Error(ESTALE, *path + " ended at byte " + std::to_string(offset + done) + " (it shrank)");
      done += static_cast<std::uint64_t>(n);
    }
    return bytes;
  }

 private:
  // root + the URL's archive path, decoded; EINVAL for a URL that is no archive URL.
  std::string local_path(const std::string& url) const {
    auto path = archive_path_of(url);
    if (!path) throw Error(EINVAL, "'" + url + "' is no archive URL (no /FTP/ in its path)");
    std::string decoded = percent_decode(*path);
    if (decoded.find('\0') != std::string::npos) throw Error(EINVAL, "'" + url + "' names a path with a NUL");
    // Decoding may make "." or ".." segments ("%2e%2e"): none may leave `root`.
    for (std::size_t begin = 0; begin <= decoded.size();) {
      auto end = decoded.find('/', begin);
      if (end == std::string::npos) end = decoded.size();
      const std::string_view segment(decoded.data() + begin, end - begin);
      if (segment == "." || segment == "..")
        throw Error(EINVAL, "'" + url + "' names a path with a '" + std::string(segment) + "' segment");
      begin = end + 1;
    }
    std::string full = root_.string();
    if (full.empty() || full.back() != '/') full += '/';
    full += decoded;
    while (full.size() > 1 && full.back() == '/') full.pop_back();
    return full;
  }

  static std::optional<ObjectInfo> stat_local(const std::string& path, int& errnum) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      errnum = errno;
      return std::nullopt;
    }
    if (S_ISDIR(st.st_mode)) {
      errnum = EISDIR;
      return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
      errnum = EINVAL;
      return std::nullopt;
    }
    ObjectInfo info;
    info.url = std::string(kFileScheme) + percent_encode(path, "/");
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.mtime = static_cast<std::int64_t>(st.st_mtime);
    return info;
  }

  // Records a missing directory; false when it lies below one recorded already (logged then).
  bool note_missing_directory(const std::string& path) EXCLUDES(mutex_) {
    if (under_missing_directory(path)) return false;
    MutexLock lock(mutex_);
    if (missing_directories_.size() >= kMaxMissingDirectories) missing_directories_.clear();
    missing_directories_.insert(path);
    return true;
  }

  bool under_missing_directory(const std::string& path) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    for (auto end = path.size(); end != std::string::npos && end > 0; end = path.rfind('/', end - 1)) {
      if (missing_directories_.count(path.substr(0, end))) return true;
    }
    return false;
  }

  const std::filesystem::path root_;
  const std::shared_ptr<ArchiveClient> fallback_;

  Mutex mutex_;  // a leaf
  std::set<std::string> missing_directories_ GUARDED_BY(mutex_);
};

}  // namespace

std::unique_ptr<ArchiveClient> make_local_archive_client(std::filesystem::path root,
                                                         std::shared_ptr<ArchiveClient> fallback) {
  return std::make_unique<LocalArchiveClient>(std::move(root), std::move(fallback));
}

std::optional<std::string> local_path_of(const ObjectInfo& object) {
  if (object.url.rfind(kFileScheme, 0) != 0) return std::nullopt;
  return percent_decode(std::string_view(object.url).substr(kFileScheme.size()));
}

}  // namespace hfs::vo
