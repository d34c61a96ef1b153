// For a Boost.Test executable that talks to the loopback test server: include it in the one
// test file of the executable. Proxies from the environment are bypassed for 127.0.0.1 before
// any test runs, and get() builds a plain GET.
#pragma once

#include <boost/test/unit_test.hpp>
#include <string>

#include "tests/support/test_http_server.h"
#include "vo/http_transport.h"

namespace hfs::test {

struct LoopbackWithoutProxy {
  LoopbackWithoutProxy() { bypass_proxies_for_loopback(); }
};
BOOST_TEST_GLOBAL_FIXTURE(LoopbackWithoutProxy);

inline vo::HttpRequest get(const std::string& url) {
  vo::HttpRequest request;
  request.url = url;
  return request;
}

}  // namespace hfs::test
