// Log lines: URLs never carry their credentials, control characters never reach the log raw.
#define BOOST_TEST_MODULE log
#include <boost/test/unit_test.hpp>

#include "common/log.h"
#include "common/text.h"
#include "tests/support/stderr_capture.h"

namespace text = hfs::text;

BOOST_AUTO_TEST_CASE(credentials_are_left_out_of_every_url) {
  BOOST_TEST(text::redact_urls("GET https://user:secret@example.org/tap/sync failed") ==
             "GET https://example.org/tap/sync failed");
  BOOST_TEST(text::redact_urls("http://u@h:8080?q") == "http://h:8080?q");
  // Two URLs in one message, the second one's '@' in the path (not user info), a bare '@'.
  BOOST_TEST(text::redact_urls("a http://x:y@h1/p and https://h2/a@b, mail@site") ==
             "a http://h1/p and https://h2/a@b, mail@site");
  // A password with '@' in it: the user info ends at the authority's last '@'.
  BOOST_TEST(text::redact_urls("'http://me:p@ss@h/'") == "'http://h/'");
  BOOST_TEST(text::redact_urls("no url here") == "no url here");
  BOOST_TEST(text::redact_urls("ends with ://") == "ends with ://");
}

BOOST_AUTO_TEST_CASE(control_characters_are_escaped) {
  BOOST_TEST(text::escape_controls(std::string("a\nwarn fake: b\r\t\x1b[31m\x7f", 22)) ==
             "a\\x0awarn fake: b\\x0d\\x09\\x1b[31m\\x7f");
  BOOST_TEST(text::escape_controls(std::string("nul\0!", 5)) == "nul\\x00!");
  BOOST_TEST(text::escape_controls("\xC2\x9B"
                                   "2J") == "\\xc2\\x9b2J");                            // C1 CSI in UTF-8
  BOOST_TEST(text::escape_controls("caf\xC3\xA9 \xC2\xA0") == "caf\xC3\xA9 \xC2\xA0");  // text stays
  BOOST_TEST(text::loggable("http://u:p@h/a\nb") == "http://h/a\\x0ab");
}

BOOST_AUTO_TEST_CASE(every_log_line_goes_through_the_helper) {
  hfs::test::StderrCapture capture;
  hfs::log::warn("archive", "GET https://anon:hunter2@archive.example/FTP/x\ninfo fake: injected");
  capture.restore();
  const std::string logged = capture.text();
  BOOST_TEST(logged.find("hunter2") == std::string::npos);
  BOOST_TEST(logged.find("anon") == std::string::npos);
  BOOST_TEST(logged.find("warn archive: GET https://archive.example/FTP/x\\x0ainfo fake: injected\n") !=
             std::string::npos);
  BOOST_TEST(capture.count("heasarcfs ") == 1u);  // one line
}
