// ArchiveClient over an S3 bucket (see vo/s3_archive_client.h).
#include "vo/s3_archive_client.h"

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>

#include "common/error.h"
#include "common/thread_annotations.h"
#include "vo/archive_path.h"
#include "vo/s3_listing.h"
#include "vo/url_codec.h"

namespace hfs::vo {
namespace {

constexpr const char* kComponent = "s3";
// Pages of one directory before the listing is refused: 1000 pages of 1000 keys is a million
// entries, far beyond any archive directory (and a service that never stops truncating).
constexpr unsigned kMaxPages = 1000;
// Objects whose listing metadata is remembered for stat_many (a listing's files are stat'ed
// right after it; older entries only save a HEAD).
constexpr std::size_t kMaxRemembered = 200000;

class S3ArchiveClient final : public ArchiveClient {
 public:
  S3ArchiveClient(std::shared_ptr<HttpTransport> transport, std::string bucket_url, RetryPolicy retry)
      : transport_(transport),
        bucket_url_(std::move(bucket_url)),
        retry_(retry),
        objects_(make_http_archive_client(std::move(transport), retry)) {}

  std::vector<IndexEntry> list(const std::string& dir_url, const CallContext& call) override {
    std::string prefix = key_of(dir_url);
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    std::string base = dir_url;
    if (base.back() != '/') base += '/';

    std::vector<IndexEntry> entries;
    std::vector<std::pair<std::string, ObjectInfo>> found;
    std::set<std::string> tokens_seen;
    std::string token;
    bool any = false;
    for (unsigned page_number = 0;; ++page_number) {
      if (page_number == kMaxPages)
        throw Error(EIO, "listing " + dir_url + ": more than " + std::to_string(kMaxPages) + " pages");
      HttpRequest request;
      request.url = bucket_url_ + "/?" + s3_list_query(prefix, token);
      request.headers.emplace_back("Accept-Encoding", "identity");
      request.call = call;
      auto response = perform_with_retries(*transport_, request, retry_, kComponent);
      if (response.status == 404 || response.status == 410)
        throw Error(ENOENT, "listing " + request.url + ": HTTP " + std::to_string(response.status));
      if (response.status < 200 || response.status > 299)
        throw Error(EIO, "listing " + request.url + ": HTTP " + std::to_string(response.status));
      S3ListPage page;
      try {
        page = parse_s3_list_page(response.body);
      } catch (const Error& error) {
        throw Error(error.errnum(), std::string(error.what()) + " (" + request.url + ")");
      }
      for (const auto& common : page.prefixes) {
        any = true;
        auto name = child_name(prefix, common);
        if (!name.empty() && name.back() == '/') name.pop_back();
        if (name.empty() || name.find('/') != std::string::npos) continue;
        IndexEntry entry;
        entry.name = name;
        entry.is_dir = true;
        entry.url = base + percent_encode(name, "") + "/";
        entries.push_back(std::move(entry));
      }
      for (const auto& object : page.objects) {
        any = true;
        auto name = child_name(prefix, object.key);
        // The key equal to the prefix is a "directory marker" object, not a file in it.
        if (name.empty() || name.find('/') != std::string::npos) continue;
        IndexEntry entry;
        entry.name = name;
        entry.url = base + percent_encode(name, "");
        if (object.mtime) entry.mtime = object.mtime;
        entry.approx_size = object.size;
        ObjectInfo info;
        info.url = object_url(object.key);
        info.size = object.size;
        info.mtime = object.mtime;
        info.etag = object.etag;
        found.emplace_back(entry.url, std::move(info));
        entries.push_back(std::move(entry));
      }
      if (!page.next_token) break;
      if (!tokens_seen.insert(*page.next_token).second)
        throw Error(EPROTO, "listing " + dir_url + ": the service repeated a continuation token");
      token = *page.next_token;
    }
    // S3 has no directories: a prefix nothing is stored under does not exist.
    if (!any) throw Error(ENOENT, "listing " + dir_url + ": no object under s3 prefix '" + prefix + "'");
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    remember(std::move(found));
    return entries;
  }

  ObjectInfo stat(const std::string& url, const CallContext& call) override {
    if (auto known = remembered(url)) return *known;
    return objects_->stat(object_url_of(url), call);
  }

  std::vector<StatResult> stat_many(const std::vector<std::string>& urls, unsigned max_parallel,
                                    const CallContext& call) override {
    std::vector<StatResult> results(urls.size());
    std::vector<std::size_t> unknown;
    std::vector<std::string> unknown_urls;
    for (std::size_t i = 0; i < urls.size(); ++i) {
      if (auto known = remembered(urls[i])) {
        results[i].info = std::move(known);
      } else {
        unknown.push_back(i);
        unknown_urls.push_back(object_url_of(urls[i]));
      }
    }
    if (!unknown.empty()) {
      auto asked = objects_->stat_many(unknown_urls, max_parallel, call);
      for (std::size_t j = 0; j < unknown.size(); ++j) results[unknown[j]] = std::move(asked[j]);
    }
    return results;
  }

  std::string read(const ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) override {
    return objects_->read(expected, offset, length);
  }

 private:
  // The key (or key prefix) a URL names: its archive path, or its path under the bucket URL.
  std::string key_of(const std::string& url) const {
    if (url.rfind(bucket_url_ + "/", 0) == 0) {
      std::string rest = url.substr(bucket_url_.size() + 1);
      return percent_decode(rest.substr(0, rest.find_first_of("?#")));
    }
    auto path = archive_path_of(url);
    if (!path) throw Error(EINVAL, "'" + url + "' is no archive URL (no /FTP/ in its path)");
    return percent_decode(*path);
  }

  std::string object_url(const std::string& key) const { return bucket_url_ + "/" + percent_encode(key, "/"); }
  std::string object_url_of(const std::string& url) const { return object_url(key_of(url)); }

  static std::string child_name(const std::string& prefix, const std::string& key) {
    if (key.size() < prefix.size() || key.compare(0, prefix.size(), prefix) != 0) return "";
    return key.substr(prefix.size());
  }

  void remember(std::vector<std::pair<std::string, ObjectInfo>> found) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    for (auto& [url, info] : found) {
      if (known_.insert_or_assign(url, std::move(info)).second) order_.push_back(url);
    }
    while (order_.size() > kMaxRemembered) {
      known_.erase(order_.front());
      order_.pop_front();
    }
  }

  std::optional<ObjectInfo> remembered(const std::string& url) EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    auto it = known_.find(url);
    if (it == known_.end()) return std::nullopt;
    return it->second;
  }

  const std::shared_ptr<HttpTransport> transport_;
  const std::string bucket_url_;
  const RetryPolicy retry_;
  const std::unique_ptr<ArchiveClient> objects_;  // HEAD and ranged GET of object URLs

  Mutex mutex_;  // a leaf
  // Entry URL -> what its listing said; oldest first in order_ (at most kMaxRemembered).
  std::unordered_map<std::string, ObjectInfo> known_ GUARDED_BY(mutex_);
  std::deque<std::string> order_ GUARDED_BY(mutex_);
};

}  // namespace

std::unique_ptr<ArchiveClient> make_s3_archive_client(std::shared_ptr<HttpTransport> transport, std::string bucket_url,
                                                      RetryPolicy retry) {
  while (!bucket_url.empty() && bucket_url.back() == '/') bucket_url.pop_back();
  return std::make_unique<S3ArchiveClient>(std::move(transport), std::move(bucket_url), retry);
}

std::string s3_path_style_bucket_url(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint + "/" + kHeasarcBucket;
}

}  // namespace hfs::vo
