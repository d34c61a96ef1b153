// One transfer of the engine (vo/curl_engine.cpp) as libcurl sees it: the record kept from
// submit() to on_done, the easy-handle callbacks that hand headers and body bytes to the
// transfer's sink, and the error each way of ending gives.
#pragma once

#include <curl/curl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "common/cancel.h"
#include "vo/curl_request.h"
#include "vo/transfer_engine.h"

namespace hfs::vo::curl {

struct Transfer {
  TransferEngine::Id id = 0;
  HttpRequest request;
  TransferCallbacks callbacks;
  std::string host;  // host_key(request.url): the slots it counts against
  SteadyClock::time_point deadline = SteadyClock::time_point::max();  // the earlier of options' and call's
  std::shared_ptr<CancelToken> cancel;                                // TransferOptions::cancel
  std::shared_ptr<CancelToken> call_cancel;                           // HttpRequest::call.cancel
  std::unique_ptr<CancelRegistration> cancel_registration;
  std::unique_ptr<CancelRegistration> call_registration;
  std::atomic<std::uint64_t>* bytes_received = nullptr;  // the engine's counter
  // Bytes of the request's range not yet received, and the engine's sum of them (stats).
  std::uint64_t range_bytes_left = 0;
  std::atomic<std::uint64_t>* bytes_in_flight = nullptr;
  std::optional<std::size_t> proxy;  // the ProxyList index this attempt goes through
  std::uint32_t proxies_tried = 0;   // bit i: proxy i failed to connect for this transfer

  // The engine thread only, while the transfer is in libcurl.
  CURL* easy = nullptr;
  Slist request_headers;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  ResponseHead head;
  bool head_delivered = false;
  bool answer_started = false;            // a response header line has arrived
  SteadyClock::time_point last_activity;  // the last header line or body bytes
  bool sink_aborted = false;              // on_headers/on_body said no (or threw)
  std::exception_ptr sink_error;          // what it threw

  bool cancelled() const { return (cancel && cancel->cancelled()) || (call_cancel && call_cancel->cancelled()); }
};

// Puts the transfer on a fresh or reset easy handle: the request (configure_request), the
// callbacks into its sink, its error buffer, the share. The transfer must stay where it is
// while the handle runs. Throws hfs::Error.
void attach(Transfer& transfer, CURL* easy, const EasySettings& settings, CURLSH* share);

// How libcurl's end of the transfer reads for on_done: nullptr for a whole answer (on_headers
// is called now if the answer had no body), the sink's reason when it aborted, else an
// hfs::Error from errno_for() (a TransientError for the connect timeout).
std::exception_ptr outcome(Transfer& transfer, CURLcode code);

// An answer that has started and brought no byte for `stall_timeout` (0 = never).
bool stalled(const Transfer& transfer, SteadyClock::time_point now, std::chrono::milliseconds stall_timeout);

std::exception_ptr cancelled_error(const Transfer& transfer, const char* why);
std::exception_ptr deadline_error(const Transfer& transfer);
std::exception_ptr stall_error(const Transfer& transfer, std::chrono::milliseconds stall_timeout);

}  // namespace hfs::vo::curl
