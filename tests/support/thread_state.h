// Whether threads of this process are blocked, as the kernel sees them (Linux:
// /proc/self/task/<tid>/stat). A test that holds one call at a Gate uses it to know that the
// other callers have arrived and are waiting (on a lock, a future, a condition variable) for
// the held one, rather than sleeping and hoping they got there.
#pragma once

#include <sys/types.h>

#include <vector>

namespace hfs::test {

pid_t current_thread_id();

// The thread's scheduler state: 'R' running or runnable, 'S' asleep (blocked), 'D' in
// uninterruptible I/O, ...; '?' when there is no such thread (any more).
char thread_state(pid_t tid);

// Waits until every one of `tids` is asleep ('S') in three looks in a row, a millisecond
// apart (one look could catch a thread on its way through a briefly contended lock). False
// after a minute: the code under test then never blocked them, and the test fails on that.
bool wait_until_asleep(const std::vector<pid_t>& tids);

}  // namespace hfs::test
