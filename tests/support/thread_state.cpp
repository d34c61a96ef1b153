#include "tests/support/thread_state.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace hfs::test {

pid_t current_thread_id() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

char thread_state(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // "tid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
  auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return '?';
  return line[paren + 2];
}

bool wait_until_asleep(const std::vector<pid_t>& tids) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  int looks_in_a_row = 0;
  while (std::chrono::steady_clock::now() < give_up) {
    bool all_asleep = true;
    for (pid_t tid : tids) all_asleep = all_asleep && thread_state(tid) == 'S';
    looks_in_a_row = all_asleep ? looks_in_a_row + 1 : 0;
    if (looks_in_a_row == 3) return true;
    // Polls for a state, it does not wait for time to pass: on a loaded machine it looks longer.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace hfs::test
