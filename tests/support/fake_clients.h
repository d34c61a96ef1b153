// In-memory VoClient and ArchiveClient for testing the filesystem without a network; to make
// their calls fail or wait, wrap them in the decorators of failing_clients.h.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "common/thread_annotations.h"
#include "vo/archive_client.h"
#include "vo/vo_client.h"

namespace hfs::test {

// The deadlines of the calls a fake was asked, in order (a test checks that a chain of
// requests spent one deadline).
class SeenDeadlines {
 public:
  void note(const CallContext& call) EXCLUDES(seen_mutex_) {
    MutexLock lock(seen_mutex_);
    seen_.push_back(call.deadline);
  }
  std::vector<SteadyClock::time_point> deadlines_seen() const EXCLUDES(seen_mutex_) {
    MutexLock lock(seen_mutex_);
    return seen_;
  }

 private:
  mutable Mutex seen_mutex_;  // a leaf
  std::vector<SteadyClock::time_point> seen_ GUARDED_BY(seen_mutex_);
};

// A catalogue: tables with rows at positions, named objects, DataLink directories.
class FakeVoClient : public vo::VoClient, public SeenDeadlines {
 public:
  struct Table {
    vo::TableService service;
    std::vector<vo::VoField> fields;  // must include "ra" and "dec" (double, degrees)
    std::vector<vo::VoRow> rows;
    std::string datalink_field = "obsid";                // FIELD given ID "DataLinkID"
    std::map<std::string, std::string> directory_by_id;  // datalink value -> directory URL
  };
  std::map<std::string, Table> tables;
  std::map<std::string, vo::SkyPosition> objects;  // names as given (matched ignoring case/spaces)

  std::vector<vo::TableService> cone_tables(const CallContext& call) override;
  vo::TableService cone_table(const std::string& name, const CallContext& call) override;
  vo::SkyPosition resolve(const std::string& object_name, const CallContext& call) override;
  vo::ConeResult cone_search(const vo::TableService& table, const vo::SkyPosition& center, double radius_deg,
                             const CallContext& call) override;
  std::vector<vo::DataLink> datalinks(const vo::ConeResult& result, std::size_t row, const CallContext& call) override;

  std::atomic<int> registry_calls{0}, resolve_calls{0}, cone_calls{0}, datalink_calls{0};
};

// A tree of files under URLs ("http://archive/FTP/a/b/file"); directories are implied.
class FakeArchiveClient : public vo::ArchiveClient, public SeenDeadlines {
 public:
  struct File {
    std::string content;
    std::int64_t mtime = 1600000000;
    std::string etag;  // "" -> derived from the content's size and mtime
  };
  void add_file(const std::string& url, std::string content, std::int64_t mtime = 1600000000);
  void replace_file(const std::string& url, std::string content);  // new content, new ETag

  std::vector<vo::IndexEntry> list(const std::string& dir_url, const CallContext& call) override;
  vo::ObjectInfo stat(const std::string& url, const CallContext& call) override;
  std::vector<StatResult> stat_many(const std::vector<std::string>& urls, unsigned max_parallel,
                                    const CallContext& call) override;
  std::string read(const vo::ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) override;

  std::atomic<int> list_calls{0}, stat_calls{0}, stat_many_calls{0}, read_calls{0};
  // false: answers carry no ETag and no Last-Modified (a server without validators; the size
  // is all that tells versions apart).
  std::atomic<bool> send_validators{true};
  std::atomic<std::uint64_t> bytes_read{0};

 private:
  Mutex mutex_;
  std::map<std::string, File> files_ GUARDED_BY(mutex_);
  int generation_ GUARDED_BY(mutex_) = 0;
};

// A small NuSTAR-like catalogue around NGC 4151 and an archive holding its trees, shared by
// the filesystem tests: 6 numaster rows within 1 degree (3 with exposure_a >= 50000, one
// proprietary), one at 1.2 degrees, and M 31 with 2 rows.
struct FakeHeasarc {
  std::shared_ptr<FakeVoClient> vo = std::make_shared<FakeVoClient>();
  std::shared_ptr<FakeArchiveClient> archive = std::make_shared<FakeArchiveClient>();
};
FakeHeasarc make_fake_heasarc();

}  // namespace hfs::test
