#define BOOST_TEST_MODULE s3_archive
#include <boost/test/unit_test.hpp>

#include "common/error.h"
#include "tests/support/errors.h"
#include "tests/support/fake_transport.h"
#include "vo/archive_path.h"
#include "vo/s3_archive_client.h"
#include "vo/s3_listing.h"
#include "vo/site_cache_archive_client.h"

using namespace hfs;
using hfs::test::errno_of;
using hfs::test::FakeTransport;

namespace {

constexpr const char* kBucket = "http://s3.test/nasa-heasarc";
constexpr const char* kDir = "https://heasarc.gsfc.nasa.gov/FTP/nustar/data/obs/00/6//60001111003/";
constexpr const char* kPrefix = "nustar/data/obs/00/6/60001111003/";

std::string contents(const std::string& key, std::uint64_t size, const std::string& etag) {
  return "<Contents><Key>" + key + "</Key><LastModified>2019-03-12T18:25:33.000Z</LastModified><ETag>" + etag +
         "</ETag><Size>" + std::to_string(size) + "</Size><StorageClass>STANDARD</StorageClass></Contents>";
}

// A ListObjectsV2 answer shaped as AWS sends it (namespace, KeyCount, MaxKeys, ...).
std::string page(const std::string& prefix, const std::string& body, const std::string& next_token = "") {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>nasa-heasarc</Name><Prefix>" +
      prefix + "</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>" +
      (next_token.empty() ? "false" : "true") + "</IsTruncated>";
  if (!next_token.empty()) xml += "<NextContinuationToken>" + next_token + "</NextContinuationToken>";
  return xml + body + "</ListBucketResult>";
}

std::string list_url(const std::string& prefix, const std::string& token = "") {
  return std::string(kBucket) + "/?" + vo::s3_list_query(prefix, token);
}

}  // namespace

BOOST_AUTO_TEST_CASE(archive_path_is_what_follows_ftp_with_slashes_collapsed) {
  BOOST_TEST(*vo::archive_path_of(kDir) == kPrefix);
  BOOST_TEST(*vo::archive_path_of("http://127.0.0.1:5/FTP/a//b/c.fits?x=1") == "a/b/c.fits");
  BOOST_TEST(*vo::archive_path_of("https://h//FTP//nustar/") == "nustar/");
  BOOST_TEST(*vo::archive_path_of("https://h/FTP/") == "");
  BOOST_TEST(*vo::archive_path_of("https://h/FTP/a%20b") == "a%20b");  // still encoded
  BOOST_TEST(!vo::archive_path_of("https://h/other/x"));
  BOOST_TEST(!vo::archive_path_of("https://h/FTPx/a"));
  BOOST_TEST(!vo::archive_path_of("https://h/FTP/a/../../etc/passwd"));
  BOOST_TEST(!vo::archive_path_of("https://h/FTP/./a"));
  BOOST_TEST(!vo::archive_path_of("no url"));
  BOOST_TEST(*vo::rebase_archive_url(kDir, "http://cache:8080/FTP/") ==
             "http://cache:8080/FTP/nustar/data/obs/00/6/60001111003/");
  BOOST_TEST(*vo::rebase_archive_url("http://cache:8080/heasarc/x", "http://cache:8080/heasarc/") ==
             "http://cache:8080/heasarc/x");
}

BOOST_AUTO_TEST_CASE(list_query_encodes_prefix_and_token) {
  BOOST_TEST(vo::s3_list_query("nustar/a b/", "") == "list-type=2&prefix=nustar%2Fa%20b%2F&delimiter=%2F");
  BOOST_TEST(vo::s3_list_query("", "1/x+y=") == "list-type=2&prefix=&delimiter=%2F&continuation-token=1%2Fx%2By%3D");
}

BOOST_AUTO_TEST_CASE(page_gives_objects_and_common_prefixes) {
  auto parsed = vo::parse_s3_list_page(
      page(kPrefix, "<CommonPrefixes><Prefix>" + std::string(kPrefix) + "auxil/</Prefix></CommonPrefixes>" +
                        contents(std::string(kPrefix) + "pipe.log", 12345, "&quot;abc&quot;") +
                        "<CommonPrefixes><Prefix>" + kPrefix + "hk/</Prefix></CommonPrefixes>"));
  BOOST_TEST(parsed.objects.size() == 1u);
  BOOST_TEST(parsed.objects[0].key == std::string(kPrefix) + "pipe.log");
  BOOST_TEST(parsed.objects[0].size == 12345u);
  BOOST_TEST(parsed.objects[0].etag == "\"abc\"");
  BOOST_TEST(parsed.objects[0].mtime == 1552415133);
  BOOST_TEST(parsed.prefixes.size() == 2u);
  BOOST_TEST(parsed.prefixes[1] == std::string(kPrefix) + "hk/");
  BOOST_TEST(!parsed.next_token);
}

BOOST_AUTO_TEST_CASE(page_decodes_xml_escapes_and_url_encoding) {
  auto escaped = vo::parse_s3_list_page(page("d/", contents("d/a&amp;b&lt;c&gt; &quot;d&apos;", 1, "\"e\"")));
  BOOST_TEST(escaped.objects.at(0).key == "d/a&b<c> \"d'");
  // encoding-type=url: keys and prefixes come percent-encoded.
  auto encoded =
      vo::parse_s3_list_page(page("d%2F", "<EncodingType>url</EncodingType>" + contents("d/x%20y%0A", 2, "\"f\"") +
                                              "<CommonPrefixes><Prefix>d/sub%2Bdir/</Prefix></CommonPrefixes>"));
  BOOST_TEST(encoded.objects.at(0).key == "d/x y\n");
  BOOST_TEST(encoded.prefixes.at(0) == "d/sub+dir/");
}

BOOST_AUTO_TEST_CASE(truncated_page_gives_its_token) {
  auto parsed =
      vo::parse_s3_list_page(page("d/", contents("d/a", 1, "\"x\""), "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="));
  BOOST_TEST(*parsed.next_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

BOOST_AUTO_TEST_CASE(bad_pages_are_protocol_errors) {
  auto error_of = [](const std::string& xml) { return test::error_of([&] { vo::parse_s3_list_page(xml); }); };
  BOOST_TEST(error_of("<html>no").errnum == EPROTO);
  BOOST_TEST(error_of("<ListAllMyBucketsResult/>").errnum == EPROTO);
  auto denied = error_of("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
  BOOST_TEST(denied.errnum == EPROTO);
  BOOST_TEST(denied.message.find("AccessDenied: Access Denied") != std::string::npos, denied.message);
  BOOST_TEST(error_of(page("d/", "<Contents><Size>3</Size></Contents>")).errnum == EPROTO);
  BOOST_TEST(error_of(page("d/", "<Contents><Key>d/a</Key><Size>-1</Size></Contents>")).errnum == EPROTO);
  BOOST_TEST(error_of("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").errnum == EPROTO);
}

BOOST_AUTO_TEST_CASE(iso8601_times) {
  BOOST_TEST(*vo::parse_iso8601_utc("1970-01-01T00:00:00Z") == 0);
  BOOST_TEST(*vo::parse_iso8601_utc("2019-03-12T18:25:33.000Z") == 1552415133);
  BOOST_TEST(*vo::parse_iso8601_utc("2019-03-12T18:25:33") == 1552415133);
  BOOST_TEST(!vo::parse_iso8601_utc("2019-03-12 18:25:33"));
  BOOST_TEST(!vo::parse_iso8601_utc("2019-13-12T18:25:33Z"));
  BOOST_TEST(!vo::parse_iso8601_utc("2019-03-12T18:25:33+01:00"));
}

BOOST_AUTO_TEST_CASE(list_follows_tokens_and_stat_many_sends_no_head) {
  auto transport = std::make_shared<FakeTransport>();
  const std::string p = kPrefix;
  transport->add(list_url(p),
                 FakeTransport::ok(page(p,
                                        "<CommonPrefixes><Prefix>" + p + "auxil/</Prefix></CommonPrefixes>" +
                                            contents(p + "nu.cat.gz", 100, "\"e1\""),
                                        "tok/1+")));
  transport->add(list_url(p, "tok/1+"),
                 FakeTransport::ok(page(p, contents(p, 0, "\"marker\"") + contents(p + "pipe.log", 7, "\"e2-3\""))));
  auto client = vo::make_s3_archive_client(transport, std::string(kBucket) + "/");
  auto entries = client->list(kDir, CallContext{});
  BOOST_TEST_REQUIRE(entries.size() == 3u);  // the directory marker object is no entry
  BOOST_TEST(entries[0].name == "auxil");
  BOOST_TEST(entries[0].is_dir);
  BOOST_TEST(entries[0].url == std::string(kDir) + "auxil/");
  BOOST_TEST(entries[1].name == "nu.cat.gz");
  BOOST_TEST(entries[2].name == "pipe.log");
  BOOST_TEST(entries[2].url == std::string(kDir) + "pipe.log");
  BOOST_TEST(transport->request_count() == 2u);

  auto stats = client->stat_many({entries[1].url, entries[2].url}, 16, CallContext{});
  BOOST_TEST(transport->request_count() == 2u);  // no HEAD: the listing said it all
  BOOST_TEST_REQUIRE(stats[1].info.has_value());
  BOOST_TEST(stats[1].info->size == 7u);
  BOOST_TEST(stats[1].info->etag == "\"e2-3\"");
  BOOST_TEST(stats[1].info->mtime == 1552415133);
  BOOST_TEST(stats[1].info->url == std::string(kBucket) + "/" + p + "pipe.log");
  BOOST_TEST(client->stat(entries[1].url, CallContext{}).size == 100u);
  BOOST_TEST(transport->request_count() == 2u);

  // A subdirectory's URL (as the listing gave it) lists its own prefix.
  transport->add(list_url(p + "auxil/"),
                 FakeTransport::ok(page(p + "auxil/", contents(p + "auxil/a b.fits", 3, "\"x\""))));
  auto auxil = client->list(entries[0].url, CallContext{});
  BOOST_TEST_REQUIRE(auxil.size() == 1u);
  BOOST_TEST(auxil[0].name == "a b.fits");
  BOOST_TEST(auxil[0].url == std::string(kDir) + "auxil/a%20b.fits");
  BOOST_TEST(client->stat(auxil[0].url, CallContext{}).url == std::string(kBucket) + "/" + p + "auxil/a%20b.fits");
}

BOOST_AUTO_TEST_CASE(unknown_objects_are_a_head_of_their_object_url_and_reads_ranged_gets) {
  auto transport = std::make_shared<FakeTransport>();
  const std::string object = std::string(kBucket) + "/nustar/x/pipe.log";
  transport->add(object, FakeTransport::ok("0123456789", {{"ETag", "\"9\""}}));
  auto client = vo::make_s3_archive_client(transport, kBucket);
  auto info = client->stat("http://127.0.0.1:9/FTP/nustar//x/pipe.log", CallContext{});
  BOOST_TEST(info.url == object);
  BOOST_TEST(info.size == 10u);
  BOOST_TEST((transport->requests().at(0).method == vo::HttpRequest::Method::head));
  BOOST_TEST(client->read(info, 2, 3) == "234");
  auto read = transport->requests().back();
  BOOST_TEST(read.url == object);
  BOOST_TEST_REQUIRE(read.range.has_value());
  BOOST_TEST(read.range->first == 2u);
  BOOST_TEST(read.range->last == 4u);
}

BOOST_AUTO_TEST_CASE(an_empty_prefix_does_not_exist_and_a_looping_token_is_refused) {
  auto transport = std::make_shared<FakeTransport>();
  transport->add(list_url("nope/"), FakeTransport::ok(page("nope/", "")));
  transport->add(list_url("loop/"), FakeTransport::ok(page("loop/", contents("loop/a", 1, "\"1\""), "same")));
  transport->add(list_url("loop/", "same"), FakeTransport::ok(page("loop/", contents("loop/b", 1, "\"1\""), "same")));
  auto client = vo::make_s3_archive_client(transport, kBucket);
  BOOST_TEST(errno_of([&] { client->list("https://h/FTP/nope/", CallContext{}); }) == ENOENT);
  BOOST_TEST(errno_of([&] { client->list("https://h/FTP/loop/", CallContext{}); }) == EPROTO);
  BOOST_TEST(errno_of([&] { client->list("https://h/elsewhere/", CallContext{}); }) == EINVAL);
  transport->add(list_url("gone/"), FakeTransport::response(404, "<Error><Code>NoSuchBucket</Code></Error>"));
  BOOST_TEST(errno_of([&] { client->list("https://h/FTP/gone/", CallContext{}); }) == ENOENT);
}

BOOST_AUTO_TEST_CASE(path_style_endpoint) {
  BOOST_TEST(vo::s3_path_style_bucket_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/nasa-heasarc");
}

BOOST_AUTO_TEST_CASE(site_cache_rebases_every_archive_url) {
  auto transport = std::make_shared<FakeTransport>();
  transport->set_fallback([](const vo::HttpRequest& request) {
    if (request.url == "http://cache:8080/FTP/nustar/data/obs/00/6/60001111003/")
      return FakeTransport::ok(
          "<html><head><title>Index of /FTP/nustar/data/obs/00/6/60001111003</title></head><body>"
          "<h1>Index of /FTP/nustar/data/obs/00/6/60001111003</h1><pre><a href=\"?C=N;O=D\">Name</a> "
          "<a href=\"?C=M;O=A\">Last modified</a>\n<a href=\"pipe.log\">pipe.log</a>  2020-11-06 20:20  3.4K\n"
          "</pre></body></html>");
    if (request.url == "http://cache:8080/FTP/nustar/data/obs/00/6/60001111003/pipe.log")
      return FakeTransport::ok("log");
    return FakeTransport::response(404, "");
  });
  auto client = vo::make_site_cache_archive_client(vo::make_http_archive_client(transport), "http://cache:8080/FTP");
  auto entries = client->list(kDir, CallContext{});
  BOOST_TEST_REQUIRE(entries.size() == 1u);
  BOOST_TEST(entries[0].url == "http://cache:8080/FTP/nustar/data/obs/00/6/60001111003/pipe.log");
  auto info = client->stat(std::string(kDir) + "pipe.log", CallContext{});
  BOOST_TEST(info.url == entries[0].url);
  BOOST_TEST(client->read(info, 0, 3) == "log");
  for (const auto& url : transport->request_urls()) BOOST_TEST(url.rfind("http://cache:8080/FTP/", 0) == 0u, url);
}
