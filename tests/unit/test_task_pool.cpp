// The background pool (common/task_pool.h): bounded queue, jobs run, a full queue drops.
#define BOOST_TEST_MODULE task_pool
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <stdexcept>

#include "common/task_pool.h"

using hfs::TaskPool;

BOOST_AUTO_TEST_CASE(runs_every_posted_job) {
  TaskPool pool(3, 100);
  std::atomic<int> done{0};
  for (int i = 0; i < 50; ++i) BOOST_TEST(pool.post([&] { ++done; }));
  pool.wait_idle();
  BOOST_TEST(done == 50);
}

BOOST_AUTO_TEST_CASE(a_full_queue_drops_the_job_instead_of_blocking) {
  TaskPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  BOOST_TEST(pool.post([&] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();  // the one worker is busy
  BOOST_TEST(pool.post([] {}));
  BOOST_TEST(pool.post([] {}));
  BOOST_TEST(!pool.post([] {}));  // queue of 2 is full
  release.set_value();
  pool.wait_idle();
  BOOST_TEST(pool.post([] {}));
}

BOOST_AUTO_TEST_CASE(a_throwing_job_does_not_stop_the_pool) {
  TaskPool pool(1, 10);
  std::atomic<int> done{0};
  pool.post([] { throw std::runtime_error("boom"); });
  pool.post([&] { ++done; });
  pool.wait_idle();
  BOOST_TEST(done == 1);
}

BOOST_AUTO_TEST_CASE(destruction_waits_for_the_running_job_and_runs_nothing_after) {
  std::atomic<int> done{0};
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  auto pool = std::make_unique<TaskPool>(1, 10);
  std::promise<void> started;
  pool->post([&] {
    started.set_value();
    gate.wait();
    ++done;
  });
  started.get_future().wait();
  for (int i = 0; i < 5; ++i) pool->post([&] { ++done; });
  std::thread destroyer([&] { pool.reset(); });  // blocks on the running job
  release.set_value();
  destroyer.join();
  const int after = done;
  BOOST_TEST(after >= 1);  // the running job finished before the destructor returned
  BOOST_TEST(done == after);
}
