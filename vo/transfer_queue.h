// The transfer engine's waiting room: which queued transfer goes next when a connection slot
// to its host frees, per the scheduling contract of vo/transfer_engine.h (lowest (priority,
// order, submission sequence); equal-priority streams take turns), plus the deadlines of what
// waits. Holds ids only; the engine keeps the transfers. Not thread-safe: the engine guards it
// with its own mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vo/transfer_engine.h"

namespace hfs::vo {

class TransferQueue {
 public:
  using Id = TransferEngine::Id;

  struct Entry {
    Id id = 0;  // also the submission sequence: a smaller id was submitted earlier
    std::string host;
    Priority priority = Priority::interactive;
    std::uint64_t order = 0;
    std::uint64_t stream = 0;
    SteadyClock::time_point deadline = SteadyClock::time_point::max();
  };

  void push(Entry entry);
  bool contains(Id id) const { return entries_.count(id) != 0; }
  // Takes a queued entry out (cancelled, expired); false when it is not queued.
  bool remove(Id id);
  // A queued prefetch becomes interactive; false when it is not queued.
  bool promote(Id id);
  // Takes out the entry of `host` that goes next, if any, and remembers its stream.
  std::optional<Id> pop_next(const std::string& host);
  // Takes out every entry whose deadline is at or before `now`.
  std::vector<Id> pop_expired(SteadyClock::time_point now);

  std::vector<std::string> hosts() const;  // those with something queued
  std::vector<Id> ids() const;
  std::optional<SteadyClock::time_point> next_deadline() const;
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  using Key = std::tuple<Priority, std::uint64_t, Id>;  // (priority, order, sequence)
  struct HostQueue {
    std::map<Key, std::uint64_t> waiting;  // -> stream
    std::uint64_t last_stream = 0;         // of the last pick; 0 = none
  };
  static Key key_of(const Entry& entry) { return {entry.priority, entry.order, entry.id}; }
  void erase(std::unordered_map<Id, Entry>::iterator found);

  std::map<std::string, HostQueue> hosts_;
  std::unordered_map<Id, Entry> entries_;
  std::set<std::pair<SteadyClock::time_point, Id>> deadlines_;  // finite deadlines only
};

}  // namespace hfs::vo
