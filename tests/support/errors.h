// What a call threw, for asserting on errors: the errno of an hfs::Error (0 when the call
// returned), or that errno with its message. Anything else the call throws is not caught: it
// fails the test case as an unexpected exception.
//
//   BOOST_TEST(test::errno_of([&] { client->stat(url); }) == ENOENT);
//   auto error = test::error_of([&] { client->read(info, 0, 10); });
//   BOOST_TEST(error.message.find("ignored the Range") != std::string::npos, error.message);
#pragma once

#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>

#include "common/error.h"

namespace hfs::test {

struct CaughtError {
  int errnum = 0;       // 0: nothing was thrown
  std::string message;  // what() of the hfs::Error
};

template <class Call>
CaughtError error_of(Call&& call) {
  try {
    call();
  } catch (const Error& error) {
    BOOST_TEST_MESSAGE("error: " << error.what());
    return {error.errnum(), error.what()};
  }
  return {};
}

template <class Call>
int errno_of(Call&& call) {
  return error_of(std::forward<Call>(call)).errnum;
}

}  // namespace hfs::test
