// The one fault plan every failing decorator follows (FailingTransport in failing_transport.h,
// FailingArchiveClient and FailingVoClient in failing_clients.h): a decorator wraps the real or
// fake client, passes every call through, and makes the calls its plan names misbehave. So a
// test breaks any interface the same way.
//
// Every call through a decorator is a Call: its operation (the method: "list", "stat", "read",
// "resolve", "cone_search", ...; for a transport the HTTP method "GET", "HEAD", "POST"), its
// subject (the URL, or the table or object name) and its number (1 = the first call through
// that decorator). Rules are tried in the order they were added; the first that matches a call
// and has failures left gives the call its Fault, and counts one down. A Fault may first hold
// the call at a Gate (see gate.h); then it lets the call through (pass: a slow call), or fails
// it: a client throws hfs::Error(errnum), as a real one does when it gets no answer; a
// transport given an http_status answers with it instead (as a server would). A held call
// honours its CallContext (the client's `call` argument, a transport's HttpRequest::call) as a
// real request does: when the call is interrupted or its deadline passes while it is held, it
// throws ECANCELED or ETIMEDOUT at once (the gate stays shut for the others).
//
//   failing->fail(test::on("stat", "60001111007/pipe.log"), {.errnum = ETIMEDOUT}, 2);
//   failing->fail_call(2, {.errnum = ECONNREFUSED});                   // the 2nd call only
//   failing->fail(test::any_call(), {.http_status = 503, .retry_after = "0"}, 1);
//   failing->fail(test::on("resolve"), {.hold = gate, .pass = true});  // held, then answered
//   failing->clear();                                                  // every call passes again
//
// Calls are counted whether they fail or not: calls(), calls("stat"), failures(). Thread-safe.
#pragma once

#include <cerrno>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/thread_annotations.h"
#include "tests/support/gate.h"
#include "vo/http_transport.h"

namespace hfs::test {

struct Call {
  std::string operation;
  std::string subject;
  int number = 0;
  const vo::HttpRequest* request = nullptr;  // transports: the whole request (valid during the call)
};

struct Fault {
  std::shared_ptr<Gate> hold{};  // first wait at this gate until it opens
  bool pass = false;             // then go on to the wrapped client (nothing fails)
  int errnum = EIO;              // else throw hfs::Error(errnum) ...
  long http_status = 0;          // ... or, transports only, answer with this status
  std::string retry_after{};     // and this Retry-After ("" = none)
};

using Match = std::function<bool(const Call&)>;
// Calls of that operation ("" = any) whose subject contains subject_part ("" = any).
Match on(std::string operation, std::string subject_part = "");
Match any_call();

class FaultPlan {
 public:
  // The next `count` calls `match` holds for get `fault` (-1: every one, until clear()).
  void fail(Match match, Fault fault, int count = -1) EXCLUDES(plan_mutex_);
  // The call numbered `number` gets `fault`.
  void fail_call(int number, Fault fault) EXCLUDES(plan_mutex_);
  // Drops every rule (the counts stay).
  void clear() EXCLUDES(plan_mutex_);

  int calls() const EXCLUDES(plan_mutex_);
  int calls(const std::string& operation) const EXCLUDES(plan_mutex_);
  int failures() const EXCLUDES(plan_mutex_);  // calls failed so far (held-and-passed ones not)

 protected:
  ~FaultPlan() = default;

  // The decorator's side, called first in every call: counts it and returns the fault it is to
  // show, after holding it at the fault's gate; nullopt when it goes on to the wrapped client.
  std::optional<Fault> admit(const std::string& operation, const std::string& subject, const CallContext& call,
                             const vo::HttpRequest* request = nullptr) EXCLUDES(plan_mutex_);
  // The hfs::Error a failed call throws, naming the call.
  static Error injected(const Fault& fault, const std::string& operation, const std::string& subject);

 private:
  struct Rule {
    int call = 0;  // > 0: only the call of that number
    Match match;   // else: calls it holds for (null: any)
    Fault fault;
    int remaining = -1;
  };
  // Lock order: plan_mutex_ only; never held while a call is held at a gate or goes on.
  mutable Mutex plan_mutex_;
  std::vector<Rule> rules_ GUARDED_BY(plan_mutex_);
  std::vector<std::string> operations_ GUARDED_BY(plan_mutex_);  // of every call, in order
  int failures_ GUARDED_BY(plan_mutex_) = 0;
};

}  // namespace hfs::test
