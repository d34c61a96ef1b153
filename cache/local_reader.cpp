#include "cache/local_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/unique_fd.h"
#include "vo/local_archive_client.h"

namespace hfs::cache {
namespace {

// Keeps the file open until the reply that uses its descriptor is sent.
class FilePin final : public Pin {
 public:
  explicit FilePin(std::shared_ptr<const UniqueFd> fd) : fd_(std::move(fd)) {}
  int fd() const override { return fd_->get(); }

 private:
  std::shared_ptr<const UniqueFd> fd_;
};

class LocalFileReader final : public FileReader {
 public:
  LocalFileReader(vo::ObjectInfo info, std::string path, std::shared_ptr<const UniqueFd> fd)
      : info_(std::move(info)), path_(std::move(path)), fd_(std::move(fd)) {
    check_unchanged();
  }

  ReadReply read(std::uint64_t offset, std::uint64_t length, const CallContext&) override {
    ReadReply reply;
    reply.offset = offset;
    if (length == 0 || offset >= info_.size) return reply;
    check_unchanged();
    reply.length = std::min(length, info_.size - offset);
    reply.pin = std::make_unique<FilePin>(fd_);
    return reply;
  }

 private:
  void check_unchanged() const {
    struct stat st {};
    if (::fstat(fd_->get(), &st) != 0) throw Error(errno, "stat " + path_ + ": " + std::strerror(errno));
    if (static_cast<std::uint64_t>(st.st_size) != info_.size || st.st_mtime != info_.mtime)
      throw Error(ESTALE, path_ + " changed since it was listed (now " + std::to_string(st.st_size) + " bytes, mtime " +
                              std::to_string(st.st_mtime) + "; was " + std::to_string(info_.size) + ", " +
                              std::to_string(info_.mtime) + ")");
  }

  const vo::ObjectInfo info_;
  const std::string path_;
  const std::shared_ptr<const UniqueFd> fd_;
};

class LocalFirstFetcher final : public Fetcher {
 public:
  explicit LocalFirstFetcher(std::unique_ptr<Fetcher> remote) : remote_(std::move(remote)) {}

  std::unique_ptr<FileReader> open(const vo::ObjectInfo& info) override {
    if (vo::local_path_of(info)) return open_local_file(info);
    return remote_->open(info);
  }
  void prefetch_whole(const vo::ObjectInfo& info) override {
    if (!vo::local_path_of(info)) remote_->prefetch_whole(info);
  }
  FetcherStats stats() const override { return remote_->stats(); }
  // A local file is all at hand (user.heasarc.cached shows size/size), though not in the cache.
  std::uint64_t cached_bytes(const vo::ObjectInfo& info) const override {
    return vo::local_path_of(info) ? info.size : remote_->cached_bytes(info);
  }

 private:
  const std::unique_ptr<Fetcher> remote_;
};

}  // namespace

std::unique_ptr<FileReader> open_local_file(const vo::ObjectInfo& info) {
  auto path = vo::local_path_of(info);
  if (!path) throw Error(EINVAL, info.url + " is no local file");
  UniqueFd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw Error(errno, "open " + *path + ": " + std::strerror(errno));
  return std::make_unique<LocalFileReader>(info, *path, std::make_shared<const UniqueFd>(std::move(fd)));
}

std::unique_ptr<Fetcher> make_local_first_fetcher(std::unique_ptr<Fetcher> remote) {
  return std::make_unique<LocalFirstFetcher>(std::move(remote));
}

}  // namespace hfs::cache
