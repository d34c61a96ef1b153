// Hosts that could not be reached (connection refused, name not resolved), remembered for a
// short hold so that a walk of a cached tree with the services down does not knock on a dead
// host once per uncached path: while a host is remembered down, a new transfer to it fails at
// once with the same errno (ECONNREFUSED or EHOSTUNREACH) and a message saying so. Any
// complete answer from the host, or the hold running out, forgets it. Used by the transfer
// engine under its own mutex (not thread-safe by itself); time is passed in (tests need no
// clock).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "common/cancel.h"

namespace hfs::vo {

class DownHosts {
 public:
  struct Down {
    int errnum = 0;
    std::string reason;  // the failure that marked it down
    SteadyClock::time_point until;
  };

  explicit DownHosts(std::chrono::milliseconds hold) : hold_(hold) {}

  void note_unreachable(const std::string& host, int errnum, std::string reason, SteadyClock::time_point now) {
    if (hold_.count() <= 0 || host.empty()) return;
    hosts_[host] = Down{errnum, std::move(reason), now + hold_};
  }
  void note_answer(const std::string& host) { hosts_.erase(host); }
  // Whether `host` is remembered down at `now` (and why).
  std::optional<Down> down(const std::string& host, SteadyClock::time_point now) {
    auto it = hosts_.find(host);
    if (it == hosts_.end()) return std::nullopt;
    if (now >= it->second.until) {
      hosts_.erase(it);
      return std::nullopt;
    }
    return it->second;
  }
  std::chrono::milliseconds hold() const { return hold_; }

 private:
  const std::chrono::milliseconds hold_;
  std::map<std::string, Down> hosts_;
};

}  // namespace hfs::vo
