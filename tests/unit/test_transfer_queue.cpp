// The transfer engine's queue policy (vo/transfer_queue.h) on its own, without a network:
// priority, order, submission sequence, streams taking turns, promote, deadlines, per host.
#define BOOST_TEST_MODULE transfer_queue
#include <boost/test/unit_test.hpp>

#include <vector>

#include "vo/transfer_queue.h"

using namespace hfs;
using vo::Priority;
using vo::TransferQueue;
using namespace std::chrono_literals;

namespace {

const std::string kHost = "http://archive:80";

TransferQueue::Entry entry(TransferQueue::Id id, Priority priority, std::uint64_t order, std::uint64_t stream = 0,
                           const std::string& host = kHost) {
  return {.id = id, .host = host, .priority = priority, .order = order, .stream = stream};
}

std::vector<TransferQueue::Id> drain(TransferQueue& queue, const std::string& host = kHost) {
  std::vector<TransferQueue::Id> order;
  while (auto id = queue.pop_next(host)) order.push_back(*id);
  return order;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lowest_priority_then_order_then_sequence) {
  TransferQueue queue;
  queue.push(entry(1, Priority::prefetch, 300));
  queue.push(entry(2, Priority::prefetch, 100));
  queue.push(entry(3, Priority::interactive, 900));
  queue.push(entry(4, Priority::prefetch, 100));
  queue.push(entry(5, Priority::interactive, 0));
  BOOST_TEST(queue.size() == 5u);
  BOOST_TEST((drain(queue) == std::vector<TransferQueue::Id>{5, 3, 2, 4, 1}));
  BOOST_TEST(queue.empty());
  BOOST_TEST(!queue.pop_next(kHost).has_value());
}

BOOST_AUTO_TEST_CASE(streams_take_turns_at_equal_priority_only) {
  TransferQueue queue;
  // Stream 1 has the smaller orders throughout; stream 2 still gets every other pick.
  for (TransferQueue::Id id = 1; id <= 4; ++id) queue.push(entry(id, Priority::prefetch, id, 1));
  queue.push(entry(11, Priority::prefetch, 100, 2));
  queue.push(entry(12, Priority::prefetch, 101, 2));
  BOOST_TEST((drain(queue) == std::vector<TransferQueue::Id>{1, 11, 2, 12, 3, 4}));

  // An interactive transfer is never passed over for another stream's prefetch.
  queue.push(entry(21, Priority::interactive, 5, 1));
  queue.push(entry(22, Priority::interactive, 6, 1));
  queue.push(entry(23, Priority::prefetch, 0, 2));
  BOOST_TEST((drain(queue) == std::vector<TransferQueue::Id>{21, 22, 23}));
}

BOOST_AUTO_TEST_CASE(promote_and_remove) {
  TransferQueue queue;
  queue.push(entry(1, Priority::prefetch, 1));
  queue.push(entry(2, Priority::prefetch, 2));
  queue.push(entry(3, Priority::prefetch, 3));
  BOOST_TEST(queue.promote(3));
  BOOST_TEST(!queue.promote(99));
  BOOST_TEST(queue.remove(2));
  BOOST_TEST(!queue.remove(2));
  BOOST_TEST(!queue.contains(2));
  BOOST_TEST((drain(queue) == std::vector<TransferQueue::Id>{3, 1}));
}

BOOST_AUTO_TEST_CASE(hosts_are_separate_queues) {
  TransferQueue queue;
  queue.push(entry(1, Priority::prefetch, 1, 0, "http://a:80"));
  queue.push(entry(2, Priority::interactive, 1, 0, "http://b:80"));
  queue.push(entry(3, Priority::interactive, 1, 0, "http://a:80"));
  BOOST_TEST((queue.hosts() == std::vector<std::string>{"http://a:80", "http://b:80"}));
  BOOST_TEST((drain(queue, "http://a:80") == std::vector<TransferQueue::Id>{3, 1}));
  BOOST_TEST((queue.hosts() == std::vector<std::string>{"http://b:80"}));
  BOOST_TEST(queue.pop_next("http://b:80").value_or(0) == 2u);
}

BOOST_AUTO_TEST_CASE(deadlines_expire_in_order) {
  TransferQueue queue;
  const auto now = SteadyClock::now();
  auto with_deadline = [&](TransferQueue::Id id, SteadyClock::duration in) {
    auto e = entry(id, Priority::prefetch, id);
    e.deadline = now + in;
    return e;
  };
  queue.push(with_deadline(1, 30s));
  queue.push(with_deadline(2, 10s));
  queue.push(entry(3, Priority::prefetch, 3));  // none
  queue.push(with_deadline(4, 20s));
  BOOST_TEST((queue.next_deadline() == now + 10s));
  BOOST_TEST((queue.pop_expired(now + 20s) == std::vector<TransferQueue::Id>{2, 4}));
  BOOST_TEST((queue.next_deadline() == now + 30s));
  BOOST_TEST(queue.remove(1));
  BOOST_TEST(!queue.next_deadline().has_value());
  BOOST_TEST(queue.pop_expired(now + 3600s).empty());
  BOOST_TEST((drain(queue) == std::vector<TransferQueue::Id>{3}));
}
