#include "tests/support/fake_transport.h"

#include <algorithm>
#include <cctype>

namespace hfs::test {

vo::HttpResponse FakeTransport::response(long status, std::string body, Headers headers) {
  vo::HttpResponse answer;
  answer.status = status;
  answer.body = std::move(body);
  for (auto& [name, value] : headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    answer.headers.emplace_back(std::move(lower), std::move(value));
  }
  return answer;
}

void FakeTransport::add(const std::string& url, vo::HttpResponse response) {
  MutexLock lock(mutex_);
  routes_[url] = std::move(response);
}

void FakeTransport::add_post(const std::string& url, const std::string& body, vo::HttpResponse response) {
  MutexLock lock(mutex_);
  posts_[{url, body}] = std::move(response);
}

void FakeTransport::remove(const std::string& url) {
  MutexLock lock(mutex_);
  routes_.erase(url);
  std::erase_if(posts_, [&](const auto& entry) { return entry.first.first == url; });
}

void FakeTransport::set_fallback(std::function<vo::HttpResponse(const vo::HttpRequest&)> fallback) {
  MutexLock lock(mutex_);
  fallback_ = std::move(fallback);
}

void FakeTransport::set_serve_ranges(bool on) {
  MutexLock lock(mutex_);
  serve_ranges_ = on;
}

std::vector<vo::HttpRequest> FakeTransport::requests() const {
  MutexLock lock(mutex_);
  return requests_;
}

std::vector<std::string> FakeTransport::request_urls() const {
  MutexLock lock(mutex_);
  std::vector<std::string> urls;
  for (const auto& request : requests_) urls.push_back(request.url);
  return urls;
}

std::size_t FakeTransport::request_count() const {
  MutexLock lock(mutex_);
  return requests_.size();
}

void FakeTransport::clear_requests() {
  MutexLock lock(mutex_);
  requests_.clear();
}

vo::HttpResponse FakeTransport::perform(const vo::HttpRequest& request) {
  vo::HttpResponse answer;
  std::function<vo::HttpResponse(const vo::HttpRequest&)> fallback;
  bool serve_ranges;
  {
    MutexLock lock(mutex_);
    requests_.push_back(request);
    serve_ranges = serve_ranges_;
    auto post = posts_.find({request.url, request.body});
    auto route = routes_.find(request.url);
    if (request.method == vo::HttpRequest::Method::post && post != posts_.end()) {
      answer = post->second;
    } else if (route != routes_.end()) {
      answer = route->second;
    } else if (fallback_) {
      fallback = fallback_;
    } else {
      answer = response(404, "");
    }
  }
  if (fallback) answer = fallback(request);  // outside the lock: it may call back into us
  if (answer.effective_url.empty()) answer.effective_url = request.url;

  if (request.method == vo::HttpRequest::Method::head) {
    if (!answer.header("content-length"))
      answer.headers.emplace_back("content-length", std::to_string(answer.body.size()));
    answer.body.clear();
    return answer;
  }
  if (request.range && serve_ranges && answer.status == 200) {
    std::uint64_t size = answer.body.size();
    std::erase_if(answer.headers, [](const auto& header) { return header.first == "content-length"; });
    if (request.range->first >= size || request.range->last < request.range->first) {
      answer.status = 416;
      answer.body.clear();
      answer.headers.emplace_back("content-range", "bytes */" + std::to_string(size));
    } else {
      std::uint64_t last = std::min(request.range->last, size - 1);
      answer.status = 206;
      answer.body = answer.body.substr(request.range->first, last - request.range->first + 1);
      answer.headers.emplace_back("content-range", "bytes " + std::to_string(request.range->first) + "-" +
                                                       std::to_string(last) + "/" + std::to_string(size));
    }
    answer.headers.emplace_back("content-length", std::to_string(answer.body.size()));
  }
  if (request.body_limit > 0 && answer.body.size() > request.body_limit) {
    answer.body.resize(request.body_limit);  // as the curl transport cuts it
    answer.body_truncated = true;
  }
  return answer;
}

}  // namespace hfs::test
