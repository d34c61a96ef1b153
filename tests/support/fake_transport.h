// An HttpTransport answering from memory: URL -> HttpResponse, recording every request.
// For testing the VO and archive clients (and anything above them) without sockets.
//
//   auto transport = std::make_shared<FakeTransport>();
//   transport->add("https://x/cone?RA=1", FakeTransport::ok(votable_xml));
//   transport->add_post("http://reg/tap/sync", form_body, FakeTransport::ok(regtap_xml));
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/thread_annotations.h"
#include "vo/http_transport.h"

namespace hfs::test {

class FakeTransport : public vo::HttpTransport {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  static vo::HttpResponse response(long status, std::string body, Headers headers = {});
  static vo::HttpResponse ok(std::string body, Headers headers = {}) {
    return response(200, std::move(body), std::move(headers));
  }

  // Answers any method to exactly this URL. HEAD gets the headers (and a Content-Length when
  // the response has none) without the body; a GET with a Range on a 200 response gets the
  // 206 slice with Content-Range, or 416 past the end (unless serve_ranges is off). A body
  // over the request's body_limit is cut there (body_truncated), as the curl transport does.
  void add(const std::string& url, vo::HttpResponse response);
  // Answers a POST to this URL with exactly this body; looked up before add()'s routes.
  void add_post(const std::string& url, const std::string& body, vo::HttpResponse response);
  void remove(const std::string& url);
  // Called for requests no route matches; default: 404 with an empty body.
  void set_fallback(std::function<vo::HttpResponse(const vo::HttpRequest&)> fallback);
  void set_serve_ranges(bool on);

  std::vector<vo::HttpRequest> requests() const;
  std::vector<std::string> request_urls() const;
  std::size_t request_count() const;
  void clear_requests();

  vo::HttpResponse perform(const vo::HttpRequest& request) override;

 private:
  mutable Mutex mutex_;
  std::map<std::string, vo::HttpResponse> routes_ GUARDED_BY(mutex_);
  std::map<std::pair<std::string, std::string>, vo::HttpResponse> posts_ GUARDED_BY(mutex_);
  std::function<vo::HttpResponse(const vo::HttpRequest&)> fallback_ GUARDED_BY(mutex_);
  bool serve_ranges_ GUARDED_BY(mutex_) = true;
  std::vector<vo::HttpRequest> requests_ GUARDED_BY(mutex_);
};

}  // namespace hfs::test
