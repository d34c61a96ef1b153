#include "tests/support/failing_clients.h"

namespace hfs::test {

std::vector<vo::IndexEntry> FailingArchiveClient::list(const std::string& dir_url, const CallContext& call) {
  if (auto fault = admit("list", dir_url, call)) throw injected(*fault, "list", dir_url);
  return inner_->list(dir_url, call);
}

vo::ObjectInfo FailingArchiveClient::stat(const std::string& url, const CallContext& call) {
  if (auto fault = admit("stat", url, call)) throw injected(*fault, "stat", url);
  return inner_->stat(url, call);
}

std::vector<vo::ArchiveClient::StatResult> FailingArchiveClient::stat_many(const std::vector<std::string>& urls,
                                                                           unsigned max_parallel,
                                                                           const CallContext& call) {
  std::vector<StatResult> results(urls.size());
  std::vector<std::string> passed;
  std::vector<std::size_t> passed_index;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    try {
      if (auto fault = admit("stat", urls[i], call)) {
        Error error = injected(*fault, "stat", urls[i]);
        results[i].errnum = error.errnum();
        results[i].message = error.what();
        continue;
      }
    } catch (const Error& error) {  // held, and its call ended meanwhile
      results[i].errnum = error.errnum();
      results[i].message = error.what();
      continue;
    }
    passed.push_back(urls[i]);
    passed_index.push_back(i);
  }
  auto inner_results = inner_->stat_many(passed, max_parallel, call);
  for (std::size_t j = 0; j < passed.size(); ++j) results[passed_index[j]] = std::move(inner_results[j]);
  return results;
}

std::string FailingArchiveClient::read(const vo::ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) {
  if (auto fault = admit("read", expected.url, CallContext{})) throw injected(*fault, "read", expected.url);
  return inner_->read(expected, offset, length);
}

std::vector<vo::TableService> FailingVoClient::cone_tables(const CallContext& call) {
  if (auto fault = admit("cone_tables", "", call)) throw injected(*fault, "cone_tables", "");
  return inner_->cone_tables(call);
}

vo::TableService FailingVoClient::cone_table(const std::string& name, const CallContext& call) {
  if (auto fault = admit("cone_table", name, call)) throw injected(*fault, "cone_table", name);
  return inner_->cone_table(name, call);
}

vo::SkyPosition FailingVoClient::resolve(const std::string& object_name, const CallContext& call) {
  if (auto fault = admit("resolve", object_name, call)) throw injected(*fault, "resolve", object_name);
  return inner_->resolve(object_name, call);
}

vo::ConeResult FailingVoClient::cone_search(const vo::TableService& table, const vo::SkyPosition& center,
                                            double radius_deg, const CallContext& call) {
  if (auto fault = admit("cone_search", table.name, call)) throw injected(*fault, "cone_search", table.name);
  return inner_->cone_search(table, center, radius_deg, call);
}

std::vector<vo::DataLink> FailingVoClient::datalinks(const vo::ConeResult& result, std::size_t row,
                                                     const CallContext& call) {
  const std::string service = result.datalink ? result.datalink->access_url : "";
  if (auto fault = admit("datalinks", service, call)) throw injected(*fault, "datalinks", service);
  return inner_->datalinks(result, row, call);
}

}  // namespace hfs::test
