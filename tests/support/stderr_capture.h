// Captures what the process writes to stderr (fd 2) while the object lives: how a unit test
// sees the log lines (common/log.h writes them there) a piece of code produced.
//
//   StderrCapture capture;
//   do_something();
//   BOOST_TEST(capture.text().find("warn archive: skipping") != std::string::npos);
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "tests/support/temp_dir.h"

namespace hfs::test {

class StderrCapture {
 public:
  StderrCapture() : file_(dir_.path() / "stderr") {
    std::fflush(stderr);
    saved_ = ::dup(2);
    int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (saved_ < 0 || fd < 0 || ::dup2(fd, 2) < 0) throw std::runtime_error("cannot capture stderr");
    ::close(fd);
  }
  ~StderrCapture() { restore(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // Everything written so far (the capture goes on).
  std::string text() const {
    std::fflush(stderr);
    std::ifstream in(file_);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  // Lines of text() that contain `needle`.
  std::size_t count(const std::string& needle) const {
    std::istringstream lines(text());
    std::size_t found = 0;
    for (std::string line; std::getline(lines, line);) found += line.find(needle) != std::string::npos;
    return found;
  }

  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

 private:
  TempDir dir_;
  std::filesystem::path file_;
  int saved_ = -1;
};

}  // namespace hfs::test
