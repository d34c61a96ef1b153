// The synchronous HttpTransport over a TransferEngine (vo/transfer_engine.h): each perform()
// is one interactive transfer whose answer is collected in memory, and the calling thread
// waits on a condition variable until the engine says it is done, or until the request's
// CancelToken fires (then it returns at once with ECANCELED and the transfer is cancelled).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/log.h"
#include "common/thread_annotations.h"
#include "vo/curl_request.h"
#include "vo/http_transport.h"
#include "vo/transfer_engine.h"

namespace hfs::vo {
namespace {

// One perform(): shared by the waiting thread and the engine's callbacks, which may outlive
// the wait (a cancelled perform returns before the engine has ended its transfer).
struct PendingAnswer {
  // Written by the engine thread only, before on_done; read by the waiter after it sees done.
  HttpResponse response;
  std::uint64_t body_limit = 0;  // 0 = none
  bool body_cut = false;

  Mutex mutex;  // a leaf
  std::condition_variable_any changed;
  bool done GUARDED_BY(mutex) = false;
  bool cancelled GUARDED_BY(mutex) = false;
  std::exception_ptr error GUARDED_BY(mutex);
};

class EngineTransport final : public HttpTransport {
 public:
  EngineTransport(std::shared_ptr<TransferEngine> engine, std::chrono::milliseconds default_timeout,
                  std::uint64_t max_body_bytes)
      : engine_(std::move(engine)), default_timeout_(default_timeout), max_body_bytes_(max_body_bytes) {}

  HttpResponse perform(const HttpRequest& request) override {
    auto pending = std::make_shared<PendingAnswer>();
    if (request.body_limit > 0 && request.body_limit <= max_body_bytes_) pending->body_limit = request.body_limit;

    TransferOptions options;
    options.priority = Priority::interactive;
    if (auto timeout = timeout_of(request); timeout.count() > 0) options.deadline = SteadyClock::now() + timeout;
    // The call's deadline and token reach the engine with the request itself.

    TransferCallbacks callbacks;
    callbacks.on_headers = [pending](const ResponseHead& head) {
      pending->response.status = head.status;
      pending->response.effective_url = head.effective_url;
      pending->response.headers = head.headers;
      return true;
    };
    const std::uint64_t cap = request.max_body > 0 ? std::min(request.max_body, max_body_bytes_) : max_body_bytes_;
    callbacks.on_body = [pending, cap, kind = std::string(request.answer_kind),
                         what = curl::describe(request)](std::string_view bytes) {
      std::string& body = pending->response.body;
      if (pending->body_limit > 0 && body.size() + bytes.size() > pending->body_limit) {
        body.append(bytes.substr(0, pending->body_limit - body.size()));
        pending->body_cut = true;
        return false;  // the engine closes that connection: the rest of the body is not read
      }
      if (body.size() + bytes.size() > cap)
        throw Error(EFBIG, what + ": answer larger than " + std::to_string(cap) + " bytes, the cap for " + kind +
                               " answers; not read further");
      body.append(bytes);
      return true;
    };
    callbacks.on_done = [pending](std::exception_ptr error) {
      MutexLock lock(pending->mutex);
      pending->done = true;
      pending->error = std::move(error);
      pending->changed.notify_all();
    };

    const TransferEngine::Id id = engine_->submit(request, options, std::move(callbacks));
    CancelRegistration wake_on_cancel(request.call.cancel, [pending] {
      MutexLock lock(pending->mutex);
      pending->cancelled = true;
      pending->changed.notify_all();
    });
    bool done = false;
    std::exception_ptr error;
    {
      MutexLock lock(pending->mutex);
      // Written out (not a wait predicate lambda) so the analysis sees the fields read under
      // the lock; wait() releases it while asleep, as usual.
      while (!pending->done && !pending->cancelled) pending->changed.wait(pending->mutex);
      done = pending->done;
      // Moved, not copied: this thread ends up with the only reference and frees it.
      error = std::move(pending->error);
    }
    if (!done) {
      // Not waiting for the engine to get round to it: the caller is gone.
      engine_->cancel(id);
      throw Error(ECANCELED, curl::describe(request) + ": cancelled");
    }
    if (pending->body_cut) {
      pending->response.body_truncated = true;  // the caller asked for no more than that
      return std::move(pending->response);
    }
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const Error& failure) {
        // Said once here, where the reason is known: the caller sees only "File too large"
        // (over the answer kind's cap) or "Permission denied" (a certificate that does not
        // verify, an https -> http redirect), which the FUSE edge logs at debug.
        if (failure.errnum() == EFBIG || failure.errnum() == EACCES) log::warn("http", failure.what());
        throw;
      }
    }
    return std::move(pending->response);
  }

 private:
  // The transport's timeout, or the request's own when shorter; 0 = none.
  std::chrono::milliseconds timeout_of(const HttpRequest& request) const {
    auto timeout = default_timeout_;
    if (request.timeout.count() > 0 && (timeout.count() == 0 || request.timeout < timeout)) timeout = request.timeout;
    return timeout;
  }

  const std::shared_ptr<TransferEngine> engine_;
  const std::chrono::milliseconds default_timeout_;
  const std::uint64_t max_body_bytes_;
};

}  // namespace

std::unique_ptr<HttpTransport> make_engine_transport(std::shared_ptr<TransferEngine> engine,
                                                     std::chrono::milliseconds default_timeout,
                                                     std::uint64_t max_body_bytes) {
  return std::make_unique<EngineTransport>(std::move(engine), default_timeout, max_body_bytes);
}

std::unique_ptr<HttpTransport> make_curl_transport(const CurlTransportOptions& options) {
  EngineOptions engine_options;
  engine_options.connections_per_host = options.connections_per_host;
  engine_options.connect_timeout = options.connect_timeout;
  engine_options.stall_timeout = options.stall_timeout;
  engine_options.max_redirects = options.max_redirects;
  engine_options.user_agent = options.user_agent;
  engine_options.ca_info = options.ca_info;
  return make_engine_transport(make_curl_engine(engine_options), options.timeout, options.max_body_bytes);
}

}  // namespace hfs::vo
