#include "tests/support/failing_transport.h"

namespace hfs::test {
namespace {

const char* method_name(vo::HttpRequest::Method method) {
  switch (method) {
    case vo::HttpRequest::Method::head: return "HEAD";
    case vo::HttpRequest::Method::post: return "POST";
    case vo::HttpRequest::Method::get: break;
  }
  return "GET";
}

}  // namespace

vo::HttpResponse FailingTransport::perform(const vo::HttpRequest& request) {
  {
    MutexLock lock(mutex_);
    requests_.push_back(request);
  }
  const std::string operation = method_name(request.method);
  auto fault = admit(operation, request.url, request.call, &request);
  if (!fault) return inner_->perform(request);
  if (fault->http_status == 0) throw injected(*fault, operation, request.url);
  vo::HttpResponse answer;
  answer.status = fault->http_status;
  answer.effective_url = request.url;
  answer.body = "injected HTTP " + std::to_string(fault->http_status) + " for " + operation + " " + request.url + "\n";
  if (!fault->retry_after.empty()) answer.headers.emplace_back("retry-after", fault->retry_after);
  return answer;
}

std::vector<vo::HttpRequest> FailingTransport::requests() const {
  MutexLock lock(mutex_);
  return requests_;
}

}  // namespace hfs::test
