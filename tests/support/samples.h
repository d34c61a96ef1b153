// The recorded service answers and pages under tests/data/samples, read whole.
#pragma once

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <string>

namespace hfs::test {

inline std::string sample_path(const std::string& name) {
  return std::string(HEASARCFS_TEST_DATA) + "/samples/" + name;
}

// The bytes of tests/data/samples/<name>; a missing sample fails the test case at once.
inline std::string read_sample(const std::string& name) {
  std::ifstream in(sample_path(name), std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "missing sample " << name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace hfs::test
