// VoClient over HTTP: RegTAP (TAP sync POST), Sesame (GET, plain text), Simple Cone Search and
// DataLink (GET, VOTable), each answer handed to its parser in vo/.
#include <algorithm>
#include <cctype>
#include <cerrno>

#include "common/error.h"
#include "common/text.h"
#include "vo/body_caps.h"
#include "vo/sesame.h"
#include "vo/vo_client.h"
#include "vo/votable.h"

namespace hfs::vo {
namespace {

constexpr const char* kComponent = "vo";

using text::lower;

// Table names come from paths the user typed; they end up inside an ADQL string literal, so
// only the characters HEASARC table names use are let through.
bool is_plausible_table_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+';
  });
}

// Parser errors do not know the URL; add it, keeping the errno.
template <typename Parse>
auto with_url_context(const std::string& url, Parse parse) {
  try {
    return parse();
  } catch (const Error& error) {
    throw Error(error.errnum(), std::string(error.what()) + " (answer of " + url + ")");
  }
}

class HttpVoClient final : public VoClient {
 public:
  HttpVoClient(std::shared_ptr<HttpTransport> transport, VoEndpoints endpoints, RetryPolicy retry)
      : transport_(std::move(transport)), endpoints_(std::move(endpoints)), retry_(retry) {}

  std::vector<TableService> cone_tables(const CallContext& call) override {
    auto tables = registry_query(regtap_cone_tables_query(endpoints_.authority), call);
    // The LIKE pattern may match more than the authority ('_' is a wildcard): keep only its own.
    std::string prefix = lower(endpoints_.authority) + "/";
    std::erase_if(tables, [&](const TableService& table) { return !lower(table.ivoid).starts_with(prefix); });
    return tables;
  }

  TableService cone_table(const std::string& name, const CallContext& call) override {
    if (!is_plausible_table_name(name)) throw Error(ENOENT, "'" + name + "' is not a table name");
    std::string ivoid = lower(endpoints_.authority + "/" + name);
    auto tables = registry_query(regtap_cone_table_query(ivoid), call);
    for (auto& table : tables) {
      if (lower(table.ivoid) == ivoid) return std::move(table);
    }
    throw Error(ENOENT, "the registry knows no table " + ivoid + " with a cone search");
  }

  SkyPosition resolve(const std::string& object_name, const CallContext& call) override {
    HttpRequest request;
    request.url = sesame_url(endpoints_.resolver, object_name);
    request.max_body = body_cap::sesame;
    request.answer_kind = "Sesame";
    request.call = call;
    auto response = perform(request);
    auto position = parse_sesame(response.body);
    if (!position && !is_sesame_answer(response.body)) {
      throw Error(EPROTO, "no Sesame answer (" + std::to_string(response.body.size()) + " bytes, not '# " +
                              object_name + "' ...) from " + request.url);
    }
    if (!position) throw Error(ENOENT, "Sesame has no position for '" + object_name + "'");
    return *position;
  }

  ConeResult cone_search(const TableService& table, const SkyPosition& center, double radius_deg,
                         const CallContext& call) override {
    HttpRequest request;
    request.url = cone_search_url(table.cone_url, center, radius_deg);
    request.max_body = body_cap::cone_search;
    request.answer_kind = "cone search";
    request.call = call;
    auto response = perform(request);
    return with_url_context(request.url,
                            [&] { return parse_cone_result(parse_votable_in_place(std::move(response.body))); });
  }

  std::vector<DataLink> datalinks(const ConeResult& result, std::size_t row, const CallContext& call) override {
    auto url = datalink_url_for_row(result, row);
    if (!url) return {};
    HttpRequest request;
    request.url = *url;
    request.max_body = body_cap::datalink;
    request.answer_kind = "DataLink";
    request.call = call;
    auto response = perform(request);
    return with_url_context(request.url, [&] { return parse_datalinks(parse_votable(response.body)); });
  }

 private:
  std::vector<TableService> registry_query(const std::string& adql, const CallContext& call) {
    HttpRequest request;
    request.call = call;
    request.method = HttpRequest::Method::post;
    request.url = endpoints_.registry;
    if (request.url.empty() || request.url.back() != '/') request.url += '/';
    request.url += "sync";
    request.body = tap_sync_form(adql);
    request.content_type = "application/x-www-form-urlencoded";
    request.max_body = body_cap::registry;
    request.answer_kind = "registry";
    auto response = perform(request);
    return with_url_context(request.url, [&] { return parse_regtap_cone_tables(parse_votable(response.body)); });
  }

  // One request with retries; any non-2xx answer left after them becomes an error. Never
  // ENOENT: these services answer "no such name/row/table" in-band (no %J line, an empty
  // table, a NotFoundFault row), so a 404 means the service URL itself is wrong, and ENOENT
  // would be cached as "unknown name" and shown to users as a missing directory.
  HttpResponse perform(const HttpRequest& request) {
    auto response = perform_with_retries(*transport_, request, retry_, kComponent);
    if (response.status >= 200 && response.status < 300) return response;
    std::string what = "HTTP " + std::to_string(response.status) + " from " + request.url;
    if (response.status == 404) what += " (no such service: is the registry=/resolver= URL right?)";
    throw Error(EIO, what);
  }

  const std::shared_ptr<HttpTransport> transport_;
  const VoEndpoints endpoints_;
  const RetryPolicy retry_;
};

}  // namespace

std::unique_ptr<VoClient> make_http_vo_client(std::shared_ptr<HttpTransport> transport, VoEndpoints endpoints,
                                              RetryPolicy retry) {
  return std::make_unique<HttpVoClient>(std::move(transport), std::move(endpoints), retry);
}

}  // namespace hfs::vo
