#include "vo/curl_transfer.h"

#include <cerrno>

#include "common/error.h"

namespace hfs::vo {

std::optional<std::string> ResponseHead::header(const std::string& lower_name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == lower_name) return it->second;
  }
  return std::nullopt;
}

namespace curl {
namespace {

// Calls on_headers once, before the first body byte (or at the end for an answer without a
// body): only the final answer reaches the write callback, so redirect hops and 100 Continue
// are never reported.
bool deliver_head(Transfer& transfer) {
  transfer.head_delivered = true;
  curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &transfer.head.status);
  char* effective_url = nullptr;
  curl_easy_getinfo(transfer.easy, CURLINFO_EFFECTIVE_URL, &effective_url);
  transfer.head.effective_url = effective_url ? effective_url : transfer.request.url;
  if (!transfer.callbacks.on_headers) return true;
  try {
    if (transfer.callbacks.on_headers(transfer.head)) return true;
  } catch (...) {
    transfer.sink_error = std::current_exception();
  }
  transfer.sink_aborted = true;
  return false;
}

size_t on_curl_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  transfer->answer_started = true;
  transfer->last_activity = SteadyClock::now();
  // Lines after the final head (chunked trailers) change nothing the sink has seen.
  if (!transfer->head_delivered) collect_header_line(std::string_view(data, bytes), transfer->head.headers);
  return bytes;
}

// Bytes go to the sink as libcurl hands them over: the engine buffers nothing.
size_t on_curl_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  transfer->last_activity = SteadyClock::now();
  if (!transfer->head_delivered && !deliver_head(*transfer)) return 0;  // CURLE_WRITE_ERROR
  if (transfer->callbacks.on_body) {
    try {
      if (!transfer->callbacks.on_body(std::string_view(data, bytes))) {
        transfer->sink_aborted = true;
        return 0;
      }
    } catch (...) {
      transfer->sink_error = std::current_exception();
      transfer->sink_aborted = true;
      return 0;
    }
  }
  transfer->bytes_received->fetch_add(bytes, std::memory_order_relaxed);
  if (transfer->range_bytes_left > 0) {
    const std::uint64_t landed = std::min<std::uint64_t>(bytes, transfer->range_bytes_left);
    transfer->range_bytes_left -= landed;
    transfer->bytes_in_flight->fetch_sub(landed, std::memory_order_relaxed);
  }
  return bytes;
}

}  // namespace

void attach(Transfer& transfer, CURL* easy, const EasySettings& settings, CURLSH* share) {
  transfer.easy = easy;
  transfer.request_headers = configure_request(easy, transfer.request, settings);
  if (share) curl_easy_setopt(easy, CURLOPT_SHARE, share);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer.data());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_curl_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_curl_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &transfer);
}

std::exception_ptr outcome(Transfer& transfer, CURLcode code) {
  if (code == CURLE_OK && (transfer.head_delivered || deliver_head(transfer))) return nullptr;
  if (transfer.sink_aborted) {
    if (transfer.sink_error) return transfer.sink_error;
    return std::make_exception_ptr(Error(EIO, describe(transfer.request) + ": aborted by its receiver"));
  }
  std::string detail = transfer.error_buffer[0] ? transfer.error_buffer.data() : curl_easy_strerror(code);
  if (code == CURLE_OPERATION_TIMEDOUT) {
    // curl has no total timeout here (the engine keeps the deadline), so this is the connect
    // timeout (a SYN or the DNS answer lost): the request's own time is not spent, and a new
    // attempt may connect.
    return std::make_exception_ptr(TransientError(ETIMEDOUT, describe(transfer.request) + ": " + detail));
  }
  long status = 0;
  curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
  if (code == CURLE_UNSUPPORTED_PROTOCOL && status >= 300 && status < 400) {
    // A redirect to a scheme configure_request does not allow: https -> http (or ftp:, file:).
    // Refused, like a bad certificate, and not worth a retry.
    // The redirect's own head is the last one collected (collect_header_line).
    auto target = transfer.head.header("location");
    return std::make_exception_ptr(Error(EACCES, describe(transfer.request) + ": redirect to " +
                                                     target.value_or("another scheme") +
                                                     " refused (an https request is only followed to https)"));
  }
  return std::make_exception_ptr(Error(errno_for(code), describe(transfer.request) + ": " + detail));
}

bool stalled(const Transfer& transfer, SteadyClock::time_point now, std::chrono::milliseconds stall_timeout) {
  return stall_timeout.count() > 0 && transfer.answer_started && now - transfer.last_activity >= stall_timeout;
}

std::exception_ptr cancelled_error(const Transfer& transfer, const char* why) {
  return std::make_exception_ptr(Error(ECANCELED, describe(transfer.request) + ": " + why));
}

std::exception_ptr deadline_error(const Transfer& transfer) {
  return std::make_exception_ptr(
      Error(ETIMEDOUT, describe(transfer.request) + ": no complete answer before its deadline"));
}

std::exception_ptr stall_error(const Transfer& transfer, std::chrono::milliseconds stall_timeout) {
  // Not the request's deadline: a new attempt (on a new connection) may well go through.
  return std::make_exception_ptr(TransientError(
      ETIMEDOUT,
      describe(transfer.request) + ": no data for " + std::to_string(stall_timeout.count()) + " ms mid-answer"));
}

}  // namespace curl
}  // namespace hfs::vo
