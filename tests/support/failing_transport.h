// An HttpTransport decorator that makes the calls its fault plan names fail (see
// fault_plan.h): with an errno, thrown as hfs::Error as a real transport does when no answer
// came, or with an HTTP status, answered as a server would. It also keeps every request it
// was given (with the timeout the caller set), so it counts and records calls even with no
// rule at all.
//
//   auto failing = std::make_shared<test::FailingTransport>(inner);
//   failing->fail_call(2, {.errnum = ECONNREFUSED});  // the 2nd call ever
//   failing->fail([](const test::Call& c) { return c.request->range.has_value(); }, {.http_status = 503}, 1);
#pragma once

#include <memory>
#include <vector>

#include "common/thread_annotations.h"
#include "tests/support/fault_plan.h"
#include "vo/http_transport.h"

namespace hfs::test {

class FailingTransport final : public vo::HttpTransport, public FaultPlan {
 public:
  explicit FailingTransport(std::shared_ptr<vo::HttpTransport> inner) : inner_(std::move(inner)) {}

  // Operation: the HTTP method ("GET", "HEAD", "POST"); subject: the URL.
  vo::HttpResponse perform(const vo::HttpRequest& request) override EXCLUDES(mutex_);

  std::vector<vo::HttpRequest> requests() const EXCLUDES(mutex_);  // every call's, in order

 private:
  std::shared_ptr<vo::HttpTransport> inner_;
  mutable Mutex mutex_;
  std::vector<vo::HttpRequest> requests_ GUARDED_BY(mutex_);
};

}  // namespace hfs::test
