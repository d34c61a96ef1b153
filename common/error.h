// The one error type of heasarcfs: an errno plus a message saying what and where.
//
// Every layer throws hfs::Error with the errno chosen where the meaning is known (a 404 from the
// archive is ENOENT, a validator that changed under a read is ESTALE, a deadline is ETIMEDOUT,
// an unparseable answer is EPROTO). The FUSE edge (fs/fuse_ops.cpp) turns it into the reply's
// errno; nothing ever maps an error by matching its message text.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace hfs {

class Error : public std::runtime_error {
 public:
  Error(int errnum, const std::string& message) : std::runtime_error(message), errnum_(errnum) {}
  int errnum() const noexcept { return errnum_; }

 private:
  int errnum_;
};

}  // namespace hfs
