#include "tests/support/failing_transport.h"

#include <optional>

#include "common/error.h"

namespace hfs::test {

void FailingTransport::fail_call(int k, Failure failure) {
  MutexLock lock(mutex_);
  rules_.push_back(Rule{k, nullptr, std::move(failure), 1});
}

void FailingTransport::fail_matching(Predicate predicate, Failure failure, int count) {
  MutexLock lock(mutex_);
  rules_.push_back(Rule{0, std::move(predicate), std::move(failure), count});
}

void FailingTransport::clear() {
  MutexLock lock(mutex_);
  rules_.clear();
}

int FailingTransport::calls() const {
  MutexLock lock(mutex_);
  return calls_;
}

int FailingTransport::failures() const {
  MutexLock lock(mutex_);
  return failures_;
}

vo::HttpResponse FailingTransport::perform(const vo::HttpRequest& request) {
  std::optional<Failure> failure;
  int call = 0;
  {
    MutexLock lock(mutex_);
    call = ++calls_;
    for (auto& rule : rules_) {
      if (rule.remaining == 0) continue;
      bool matches = rule.call > 0 ? rule.call == call : (!rule.predicate || rule.predicate(request));
      if (!matches) continue;
      if (rule.remaining > 0) --rule.remaining;
      failure = rule.failure;
      ++failures_;
      break;
    }
  }
  if (!failure) return inner_->perform(request);
  std::string where = "call " + std::to_string(call) + " " + request.url;
  if (failure->http_status == 0) throw Error(failure->errnum, "injected failure of " + where);
  vo::HttpResponse answer;
  answer.status = failure->http_status;
  answer.effective_url = request.url;
  answer.body = "injected HTTP " + std::to_string(failure->http_status) + " for " + where + "\n";
  if (!failure->retry_after.empty()) answer.headers.emplace_back("retry-after", failure->retry_after);
  return answer;
}

}  // namespace hfs::test
