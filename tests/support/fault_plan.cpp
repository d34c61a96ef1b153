#include "tests/support/fault_plan.h"

#include <algorithm>

namespace hfs::test {

Match on(std::string operation, std::string subject_part) {
  return [operation = std::move(operation), subject_part = std::move(subject_part)](const Call& call) {
    return (operation.empty() || call.operation == operation) && call.subject.find(subject_part) != std::string::npos;
  };
}

Match any_call() {
  return [](const Call&) { return true; };
}

void FaultPlan::fail(Match match, Fault fault, int count) {
  MutexLock lock(plan_mutex_);
  rules_.push_back(Rule{0, std::move(match), std::move(fault), count});
}

void FaultPlan::fail_call(int number, Fault fault) {
  MutexLock lock(plan_mutex_);
  rules_.push_back(Rule{number, nullptr, std::move(fault), 1});
}

void FaultPlan::clear() {
  MutexLock lock(plan_mutex_);
  rules_.clear();
}

int FaultPlan::calls() const {
  MutexLock lock(plan_mutex_);
  return static_cast<int>(operations_.size());
}

int FaultPlan::calls(const std::string& operation) const {
  MutexLock lock(plan_mutex_);
  return static_cast<int>(std::count(operations_.begin(), operations_.end(), operation));
}

int FaultPlan::failures() const {
  MutexLock lock(plan_mutex_);
  return failures_;
}

std::optional<Fault> FaultPlan::admit(const std::string& operation, const std::string& subject, const CallContext& call,
                                      const vo::HttpRequest* request) {
  std::optional<Fault> fault;
  {
    MutexLock lock(plan_mutex_);
    operations_.push_back(operation);
    const Call call{operation, subject, static_cast<int>(operations_.size()), request};
    for (auto& rule : rules_) {
      if (rule.remaining == 0) continue;
      bool matches = rule.call > 0 ? rule.call == call.number : (!rule.match || rule.match(call));
      if (!matches) continue;
      if (rule.remaining > 0) --rule.remaining;
      fault = rule.fault;
      if (!fault->pass) ++failures_;
      break;
    }
  }
  if (!fault) return std::nullopt;
  if (fault->hold && fault->hold->pass(call) == Gate::Passed::call_ended) {
    if (call.cancelled()) throw Error(ECANCELED, operation + " " + subject + ": cancelled while held");
    throw Error(ETIMEDOUT, operation + " " + subject + ": the call's deadline passed while held");
  }
  if (fault->pass) return std::nullopt;
  return fault;
}

Error FaultPlan::injected(const Fault& fault, const std::string& operation, const std::string& subject) {
  return Error(fault.errnum, "injected failure of " + operation + " " + subject);
}

}  // namespace hfs::test
