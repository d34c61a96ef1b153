#include "fs/mount_stats.h"

#include <cstdio>
#include <cstring>

namespace hfs::fs {
namespace {

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// {"name": value, ...} from pairs already formatted as JSON values.
class Object {
 public:
  Object& add(std::string_view name, const std::string& json_value) {
    text_ += (text_.empty() ? "{" : ", ") + json_string(name) + ": " + json_value;
    return *this;
  }
  Object& add(std::string_view name, std::uint64_t value) { return add(name, std::to_string(value)); }
  std::string str() const { return text_.empty() ? "{}" : text_ + "}"; }

 private:
  std::string text_;
};

std::string errno_name(int errnum) {
  if (errnum <= 0) return "other";
  const char* name = strerrorname_np(errnum);
  return name ? name : "errno " + std::to_string(errnum);
}

}  // namespace

std::string mount_stats_json(const MountStats& stats) {
  const auto& t = stats.transfers;
  const auto& f = stats.fetcher;
  const auto& s = stats.store;
  char uptime[32];
  std::snprintf(uptime, sizeof uptime, "%.3f", stats.uptime_seconds);

  Object requests;
  requests.add("started", t.started).add("completed", t.completed).add("failed", t.failed);
  requests.add("running", t.running).add("queued", t.queued);

  Object cache;
  cache.add("hits", f.block_hits).add("misses", f.block_misses).add("block_size", cache::kBlockSize);
  cache.add("bytes_used", s.bytes_used).add("byte_limit", s.byte_limit).add("objects", s.objects);
  cache.add("blocks", s.blocks).add("evictions", s.evictions).add("corrupt_blocks", s.corrupt_blocks);
  cache.add("write_errors", s.write_errors);

  Object reads;
  reads.add("interactive_parts", f.interactive_parts).add("prefetch_parts", f.prefetch_parts);
  reads.add("promoted_parts", f.promoted_parts).add("cancelled_parts", f.cancelled_parts);
  reads.add("failed_parts", f.failed_parts).add("retries", f.retries).add("direct_reads", f.direct_reads);
  reads.add("collapsed_waits", f.collapsed_waits);

  Object by_errno;
  std::uint64_t replies = 0;
  for (const auto& [errnum, count] : stats.errors) {
    by_errno.add(errno_name(errnum), count);
    replies += count;
  }
  Object errors;
  errors.add("replies", replies).add("by_errno", by_errno.str());

  Object connections;
  std::map<std::string, std::pair<unsigned, unsigned>> hosts;
  for (const auto& [host, running] : t.running_by_host) hosts[host].first = running;
  for (const auto& [host, queued] : t.queued_by_host) hosts[host].second = queued;
  for (const auto& [host, counts] : hosts) {
    Object host_counts;
    host_counts.add("running", counts.first).add("queued", counts.second);
    connections.add(host, host_counts.str());
  }

  Object root;
  root.add("uptime_seconds", std::string(uptime));
  root.add("requests", requests.str());
  root.add("bytes_fetched", t.bytes_received);
  root.add("bytes_in_flight", t.bytes_in_flight);
  root.add("cache", cache.str());
  root.add("reads", reads.str());
  root.add("errors", errors.str());
  root.add("connections", connections.str());
  root.add("nodes", stats.nodes);
  return root.str() + "\n";
}

}  // namespace hfs::fs
