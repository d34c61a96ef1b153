#include "vo/transfer_queue.h"

#include <iterator>

namespace hfs::vo {

void TransferQueue::push(Entry entry) {
  hosts_[entry.host].waiting.emplace(key_of(entry), entry.stream);
  if (entry.deadline != SteadyClock::time_point::max()) deadlines_.emplace(entry.deadline, entry.id);
  Id id = entry.id;
  entries_.emplace(id, std::move(entry));
}

void TransferQueue::erase(std::unordered_map<Id, Entry>::iterator found) {
  const Entry& entry = found->second;
  auto host = hosts_.find(entry.host);
  // The host's queue stays when it empties: it remembers whose turn it was (one small entry
  // per host ever used).
  if (host != hosts_.end()) host->second.waiting.erase(key_of(entry));
  if (entry.deadline != SteadyClock::time_point::max()) deadlines_.erase({entry.deadline, entry.id});
  entries_.erase(found);
}

bool TransferQueue::remove(Id id) {
  auto found = entries_.find(id);
  if (found == entries_.end()) return false;
  erase(found);
  return true;
}

bool TransferQueue::promote(Id id) {
  auto found = entries_.find(id);
  if (found == entries_.end()) return false;
  Entry& entry = found->second;
  if (entry.priority == Priority::interactive) return true;
  auto& waiting = hosts_.at(entry.host).waiting;
  waiting.erase(key_of(entry));
  entry.priority = Priority::interactive;
  waiting.emplace(key_of(entry), entry.stream);
  return true;
}

std::optional<TransferQueue::Id> TransferQueue::pop_next(const std::string& host) {
  auto queue = hosts_.find(host);
  if (queue == hosts_.end() || queue->second.waiting.empty()) return std::nullopt;
  auto& waiting = queue->second.waiting;
  const std::uint64_t last_stream = queue->second.last_stream;
  auto pick = waiting.begin();
  if (last_stream != 0 && pick->second == last_stream) {
    // Take turns: the best of the same priority from any other stream, when there is one.
    const Priority priority = std::get<0>(pick->first);
    for (auto it = std::next(pick); it != waiting.end() && std::get<0>(it->first) == priority; ++it) {
      if (it->second != last_stream) {
        pick = it;
        break;
      }
    }
  }
  const Id id = std::get<2>(pick->first);
  const std::uint64_t stream = pick->second;
  queue->second.last_stream = stream;
  erase(entries_.find(id));
  return id;
}

std::vector<TransferQueue::Id> TransferQueue::pop_expired(SteadyClock::time_point now) {
  std::vector<Id> expired;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    Id id = deadlines_.begin()->second;
    expired.push_back(id);
    erase(entries_.find(id));
  }
  return expired;
}

std::vector<std::string> TransferQueue::hosts() const {
  std::vector<std::string> names;
  names.reserve(hosts_.size());
  for (const auto& [name, queue] : hosts_) {
    if (!queue.waiting.empty()) names.push_back(name);
  }
  return names;
}

std::vector<TransferQueue::Id> TransferQueue::ids() const {
  std::vector<Id> all;
  all.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) all.push_back(id);
  return all;
}

std::optional<SteadyClock::time_point> TransferQueue::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

}  // namespace hfs::vo
