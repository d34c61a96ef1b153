// The VO services the filesystem walks, behind one interface: registry (RegTAP), name resolver
// (Sesame), cone search and DataLink. HttpVoClient speaks them over HTTP; tests use the fake
// and failing clients in tests/support/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vo/cone_search.h"
#include "vo/datalink.h"
#include "vo/http_transport.h"
#include "vo/regtap.h"
#include "vo/sky.h"

namespace hfs::vo {

// Every operation takes the CallContext of the call it serves (common/cancel.h): its requests
// carry it (HttpRequest::call), so they end by the call's deadline and on its interrupt.
class VoClient {
 public:
  virtual ~VoClient() = default;

  // Every table of the authority that has a cone search (one registry query).
  virtual std::vector<TableService> cone_tables(const CallContext& call) = 0;
  // One table by name; throws hfs::Error(ENOENT) when the registry does not know it or it
  // has no cone search.
  virtual TableService cone_table(const std::string& name, const CallContext& call) = 0;
  // Object name -> position; throws hfs::Error(ENOENT) when the resolver has no position.
  virtual SkyPosition resolve(const std::string& object_name, const CallContext& call) = 0;
  virtual ConeResult cone_search(const TableService& table, const SkyPosition& center, double radius_deg,
                                 const CallContext& call) = 0;
  // DataLink {links} of one result row; empty when the result declares no DataLink service.
  virtual std::vector<DataLink> datalinks(const ConeResult& result, std::size_t row, const CallContext& call) = 0;
};

struct VoEndpoints {
  // RegTAP TAP base. pyvo's default is the same registry over plain http; https here, so that
  // the answer that decides where every later request goes cannot be altered on the way.
  std::string registry = "https://reg.g-vo.org/tap";
  std::string resolver = "https://cds.unistra.fr/cgi-bin/nph-sesame/";  // Sesame base
  std::string authority = "ivo://nasa.heasarc";
};

// Every operation is one request (retried per `retry` on transient failures). HTTP 404 ->
// ENOENT, other non-2xx -> EIO naming status and URL, unparseable answers -> EPROTO.
std::unique_ptr<VoClient> make_http_vo_client(std::shared_ptr<HttpTransport> transport, VoEndpoints endpoints,
                                              RetryPolicy retry = {});

}  // namespace hfs::vo
