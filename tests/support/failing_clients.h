// Decorators of the archive and VO clients that make the calls their fault plan names fail
// (see fault_plan.h), in the pattern of FailingTransport: a failed call throws
// hfs::Error(errnum) naming the call, as a real client does (http_status means nothing here).
// The fakes in fake_clients.h are what they usually wrap (cf. mountpoint-s3's mock_client /
// failure_client).
//
//   auto failing = std::make_shared<test::FailingArchiveClient>(heasarc.archive);
//   failing->fail(test::on("list", "60001111002"), {.errnum = EIO}, 1);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/fault_plan.h"
#include "vo/archive_client.h"
#include "vo/vo_client.h"

namespace hfs::test {

// Operations "list", "stat" and "read", the subject their URL. stat_many is a "stat" of each of
// its URLs: the failed ones answer with their error, the rest go to the wrapped client as one
// batch.
class FailingArchiveClient final : public vo::ArchiveClient, public FaultPlan {
 public:
  explicit FailingArchiveClient(std::shared_ptr<vo::ArchiveClient> inner) : inner_(std::move(inner)) {}

  std::vector<vo::IndexEntry> list(const std::string& dir_url, const CallContext& call) override;
  vo::ObjectInfo stat(const std::string& url, const CallContext& call) override;
  std::vector<StatResult> stat_many(const std::vector<std::string>& urls, unsigned max_parallel,
                                    const CallContext& call) override;
  std::string read(const vo::ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) override;

 private:
  std::shared_ptr<vo::ArchiveClient> inner_;
};

// Operations "cone_tables" (subject ""), "cone_table" and "cone_search" (the table name),
// "resolve" (the object name) and "datalinks" (the DataLink service URL of the result, "" when
// it has none).
class FailingVoClient final : public vo::VoClient, public FaultPlan {
 public:
  explicit FailingVoClient(std::shared_ptr<vo::VoClient> inner) : inner_(std::move(inner)) {}

  std::vector<vo::TableService> cone_tables(const CallContext& call) override;
  vo::TableService cone_table(const std::string& name, const CallContext& call) override;
  vo::SkyPosition resolve(const std::string& object_name, const CallContext& call) override;
  vo::ConeResult cone_search(const vo::TableService& table, const vo::SkyPosition& center, double radius_deg,
                             const CallContext& call) override;
  std::vector<vo::DataLink> datalinks(const vo::ConeResult& result, std::size_t row, const CallContext& call) override;

 private:
  std::shared_ptr<vo::VoClient> inner_;
};

}  // namespace hfs::test
