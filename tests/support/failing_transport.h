// A decorator making chosen HttpTransport calls fail, with an errno (thrown as hfs::Error, as a
// real transport does when no answer came) or with an HTTP status (answered, as a server would).
//
//   auto failing = std::make_shared<FailingTransport>(inner);
//   failing->fail_call(2, {.errnum = ECONNREFUSED});              // the 2nd call ever
//   failing->fail_matching([](auto& r) { return r.range.has_value(); }, {.http_status = 503}, 1);
#pragma once

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vo/http_transport.h"
#include "common/thread_annotations.h"

namespace hfs::test {

class FailingTransport : public vo::HttpTransport {
 public:
  struct Failure {
    int errnum = EIO;          // thrown when http_status is 0
    long http_status = 0;      // else answered with this status and a short body
    std::string retry_after{};   // Retry-After of that answer; "" = none
  };
  using Predicate = std::function<bool(const vo::HttpRequest&)>;

  explicit FailingTransport(std::shared_ptr<vo::HttpTransport> inner) : inner_(std::move(inner)) {}

  // The call numbered k fails (calls are numbered from 1 since construction).
  void fail_call(int k, Failure failure);
  // The next `count` calls for which predicate holds fail (-1: all of them, until clear()).
  void fail_matching(Predicate predicate, Failure failure, int count = -1);
  void clear();

  int calls() const;     // calls so far
  int failures() const;  // calls failed so far

  vo::HttpResponse perform(const vo::HttpRequest& request) override;

 private:
  struct Rule {
    int call = 0;  // > 0: only that call number
    Predicate predicate;
    Failure failure;
    int remaining = -1;
  };
  std::shared_ptr<vo::HttpTransport> inner_;
  mutable Mutex mutex_;
  std::vector<Rule> rules_ GUARDED_BY(mutex_);
  int calls_ GUARDED_BY(mutex_) = 0;
  int failures_ GUARDED_BY(mutex_) = 0;
};

}  // namespace hfs::test
