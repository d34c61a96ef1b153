#include "vo/site_cache_archive_client.h"

#include "common/error.h"
#include "vo/archive_path.h"

namespace hfs::vo {
namespace {

class SiteCacheArchiveClient final : public ArchiveClient {
 public:
  SiteCacheArchiveClient(std::shared_ptr<ArchiveClient> inner, std::string prefix)
      : inner_(std::move(inner)), prefix_(std::move(prefix)) {}

  std::vector<IndexEntry> list(const std::string& dir_url, const CallContext& call) override {
    return inner_->list(rebased(dir_url), call);
  }
  ObjectInfo stat(const std::string& url, const CallContext& call) override { return inner_->stat(rebased(url), call); }
  std::vector<StatResult> stat_many(const std::vector<std::string>& urls, unsigned max_parallel,
                                    const CallContext& call) override {
    std::vector<std::string> rebased_urls;
    rebased_urls.reserve(urls.size());
    for (const auto& url : urls) rebased_urls.push_back(rebased(url));
    return inner_->stat_many(rebased_urls, max_parallel, call);
  }
  std::string read(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) override {
    return inner_->read(expected, offset, length);
  }

 private:
  std::string rebased(const std::string& url) const {
    auto result = rebase_archive_url(url, prefix_);
    if (!result) throw Error(EINVAL, "'" + url + "' is no archive URL (no /FTP/ in its path)");
    return *result;
  }

  const std::shared_ptr<ArchiveClient> inner_;
  const std::string prefix_;
};

}  // namespace

std::unique_ptr<ArchiveClient> make_site_cache_archive_client(std::shared_ptr<ArchiveClient> inner,
                                                              std::string prefix) {
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  return std::make_unique<SiteCacheArchiveClient>(std::move(inner), std::move(prefix));
}

}  // namespace hfs::vo
