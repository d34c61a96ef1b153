#include "tests/support/fake_clients.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"

namespace hfs::test {
namespace {

std::string normalize(const std::string& name) {
  std::string key;
  for (char c : name)
    if (!std::isspace(static_cast<unsigned char>(c)))
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

double cell_number(const vo::VoRow& row, std::size_t index) { return std::stod(row.at(index).value()); }

}  // namespace

std::vector<vo::TableService> FakeVoClient::cone_tables(const CallContext& call) {
  note(call);
  ++registry_calls;
  std::vector<vo::TableService> services;
  for (const auto& [name, table] : tables) services.push_back(table.service);
  return services;
}

vo::TableService FakeVoClient::cone_table(const std::string& name, const CallContext& call) {
  note(call);
  ++registry_calls;
  auto it = tables.find(name);
  if (it == tables.end()) throw Error(ENOENT, "no table " + name);
  return it->second.service;
}

vo::SkyPosition FakeVoClient::resolve(const std::string& object_name, const CallContext& call) {
  note(call);
  ++resolve_calls;
  for (const auto& [name, position] : objects)
    if (normalize(name) == normalize(object_name)) return position;
  throw Error(ENOENT, "Sesame has no position for '" + object_name + "'");
}

vo::ConeResult FakeVoClient::cone_search(const vo::TableService& service, const vo::SkyPosition& center,
                                         double radius_deg, const CallContext& call) {
  note(call);
  ++cone_calls;
  const Table& table = tables.at(service.name);
  vo::ConeResult result;
  result.table.fields = table.fields;
  for (auto& field : result.table.fields)
    if (field.name == table.datalink_field) field.id = "DataLinkID";
  vo::VoTableData probe;
  probe.fields = table.fields;
  auto ra = probe.field_index("ra").value();
  auto dec = probe.field_index("dec").value();
  for (const auto& row : table.rows) {
    vo::SkyPosition position{cell_number(row, ra), cell_number(row, dec)};
    if (vo::angular_distance_deg(center, position) <= radius_deg) result.table.rows.push_back(row);
  }
  vo::DataLinkService datalink;
  datalink.access_url = "http://fake/datalink/" + service.name;
  datalink.inputs.push_back({"id", "DataLinkID", ""});
  result.datalink = datalink;
  return result;
}

std::vector<vo::DataLink> FakeVoClient::datalinks(const vo::ConeResult& result, std::size_t row,
                                                  const CallContext& call) {
  note(call);
  ++datalink_calls;
  auto column = result.table.field_index_by_id("DataLinkID").value();
  std::string id = result.table.rows.at(row).at(column).value();
  std::vector<vo::DataLink> links;
  for (const auto& [name, table] : tables) {
    auto it = table.directory_by_id.find(id);
    vo::DataLink bib;
    bib.id = "ivo://nasa.heasarc/" + name + "?" + id;
    bib.access_url = "http://fake/xamin/bib?table=" + name + "&id=" + id;
    bib.content_type = "text/html";
    links.push_back(bib);
    if (it != table.directory_by_id.end()) {
      vo::DataLink directory = bib;
      directory.access_url = it->second;
      directory.content_type = "directory";
      links.push_back(directory);
      break;
    }
  }
  return links;
}

void FakeArchiveClient::add_file(const std::string& url, std::string content, std::int64_t mtime) {
  MutexLock lock(mutex_);
  files_[url] = File{std::move(content), mtime, ""};
}

void FakeArchiveClient::replace_file(const std::string& url, std::string content) {
  MutexLock lock(mutex_);
  auto& file = files_.at(url);
  file.content = std::move(content);
  file.etag = "\"gen" + std::to_string(++generation_) + "\"";
}

std::vector<vo::IndexEntry> FakeArchiveClient::list(const std::string& dir_url, const CallContext& call) {
  note(call);
  ++list_calls;
  MutexLock lock(mutex_);
  std::map<std::string, vo::IndexEntry> entries;
  for (const auto& [url, file] : files_) {
    if (url.rfind(dir_url, 0) != 0 || url.size() == dir_url.size()) continue;
    std::string rest = url.substr(dir_url.size());
    auto slash = rest.find('/');
    vo::IndexEntry entry;
    entry.is_dir = slash != std::string::npos;
    entry.name = entry.is_dir ? rest.substr(0, slash) : rest;
    entry.url = dir_url + entry.name + (entry.is_dir ? "/" : "");
    entry.mtime = file.mtime;
    entries.emplace(entry.name, entry);
  }
  if (entries.empty()) throw Error(ENOENT, "no directory " + dir_url);
  std::vector<vo::IndexEntry> result;
  for (auto& [name, entry] : entries) result.push_back(entry);
  return result;
}

vo::ObjectInfo FakeArchiveClient::stat(const std::string& url, const CallContext& call) {
  note(call);
  ++stat_calls;
  MutexLock lock(mutex_);
  auto it = files_.find(url);
  if (it == files_.end()) throw Error(ENOENT, "no file " + url);
  vo::ObjectInfo info;
  info.url = url;
  info.size = it->second.content.size();
  info.mtime = it->second.mtime;
  info.etag = it->second.etag.empty() ? "\"" + std::to_string(info.size) + "-" + std::to_string(info.mtime) + "\""
                                      : it->second.etag;
  if (!send_validators) {
    info.etag.clear();
    info.mtime = 0;
  }
  return info;
}

std::vector<vo::ArchiveClient::StatResult> FakeArchiveClient::stat_many(const std::vector<std::string>& urls, unsigned,
                                                                        const CallContext& call) {
  ++stat_many_calls;
  std::vector<StatResult> results;
  for (const auto& url : urls) {
    StatResult result;
    try {
      result.info = stat(url, call);
    } catch (const Error& error) {
      result.errnum = error.errnum();
      result.message = error.what();
    }
    results.push_back(std::move(result));
  }
  return results;
}

std::string FakeArchiveClient::read(const vo::ObjectInfo& expected, std::uint64_t offset, std::uint64_t length) {
  ++read_calls;
  auto current = stat(expected.url, CallContext{});
  --stat_calls;  // internal, not a request the filesystem made
  // As a server's answer is checked (vo/range_answer.cpp): ETag, Last-Modified, size.
  if (current.etag != expected.etag || current.mtime != expected.mtime || current.size != expected.size)
    throw Error(ESTALE, expected.url + " changed");
  MutexLock lock(mutex_);
  const auto& content = files_.at(expected.url).content;
  if (offset >= content.size()) return {};
  auto bytes = content.substr(offset, length);
  bytes_read += bytes.size();
  return bytes;
}

FakeHeasarc make_fake_heasarc() {
  FakeHeasarc heasarc;
  auto field = [](std::string name, std::string datatype) {
    vo::VoField f;
    f.name = std::move(name);
    f.datatype = std::move(datatype);
    if (f.datatype == "char") f.arraysize = "*";
    return f;
  };
  FakeVoClient::Table numaster;
  numaster.service = {"numaster", "ivo://nasa.heasarc/numaster", "NuSTAR Master Catalog",
                      "http://fake/xamin/vo/cone?showoffsets&table=numaster&"};
  numaster.fields = {field("name", "char"),  field("ra", "double"),   field("dec", "double"),
                     field("obsid", "char"), field("status", "char"), field("exposure_a", "double")};
  struct RowSpec {
    const char* name;
    double ra, dec;
    const char* obsid;
    const char* status;
    const char* exposure;
  };
  const RowSpec rows[] = {
      {"NGC_4151", 182.6357, 39.4058, "60001111002", "archived", "21864.2"},
      {"NGC_4151", 182.6360, 39.4060, "60001111003", "archived", "57036.1"},
      {"NGC_4151", 182.6350, 39.4050, "60001111005", "archived", "61531.6"},
      {"NGC_4151", 182.6400, 39.4100, "60001111007", "archived", "50000"},
      {"NGC4151_OFF", 182.9000, 39.9000, "60201011002", "archived", "12000"},
      {"NGC_4151", 182.6300, 39.4000, "90801111001", "accepted", "40000"},
      {"FAR", 182.6357, 40.6058, "60301011002", "archived", "70000"},
      {"M31", 10.6847, 41.2690, "50026001002", "archived", "30000.5"},
      {"M31", 10.7000, 41.3000, "50026001004", "archived", ""},
  };
  for (const auto& row : rows) {
    vo::VoRow cells = {std::string(row.name),   std::to_string(row.ra),
                       std::to_string(row.dec), std::string(row.obsid),
                       std::string(row.status), row.exposure[0] ? vo::VoCell(row.exposure) : vo::VoCell()};
    numaster.rows.push_back(cells);
    if (std::string(row.status) == "archived") {
      std::string obsid = row.obsid;
      std::string dir =
          "http://fake/FTP/nustar/data/obs/" + obsid.substr(1, 2) + "/" + obsid.substr(0, 1) + "//" + obsid + "/";
      numaster.directory_by_id[obsid] = dir;
      std::string file_dir =
          "http://fake/FTP/nustar/data/obs/" + obsid.substr(1, 2) + "/" + obsid.substr(0, 1) + "//" + obsid + "/";
      heasarc.archive->add_file(file_dir + "pipe.log", "pipeline log of " + obsid + "\n");
      std::string events(700000, '\0');
      for (std::size_t i = 0; i < events.size(); ++i) events[i] = static_cast<char>((i * 7919 + obsid.size()) % 251);
      heasarc.archive->add_file(file_dir + "event_cl/nu" + obsid + "A01_cl.evt", std::move(events));
      heasarc.archive->add_file(file_dir + "hk/nu" + obsid + "A_fpm.hk.gz", std::string(3000, 'h'));
    }
  }
  heasarc.vo->tables["numaster"] = numaster;

  FakeVoClient::Table chanmaster;
  chanmaster.service = {"chanmaster", "ivo://nasa.heasarc/chanmaster", "Chandra Master Catalog",
                        "http://fake/xamin/vo/cone?showoffsets&table=chanmaster&"};
  chanmaster.fields = {field("obsid", "char"), field("name", "char"), field("ra", "double"), field("dec", "double"),
                       field("exposure", "double")};
  chanmaster.rows.push_back({std::string("3052"), std::string("NGC 4151"), std::string("182.63625"),
                             std::string("39.40544"), std::string("156600.0")});
  chanmaster.directory_by_id["3052"] = "http://fake/FTP/chandra/data/byobsid/2//3052/";
  heasarc.archive->add_file("http://fake/FTP/chandra/data/byobsid/2//3052/primary/acisf03052N004_evt2.fits.gz",
                            std::string(5000, 'c'));
  heasarc.vo->tables["chanmaster"] = chanmaster;

  heasarc.vo->objects["NGC 4151"] = {182.63573325, 39.40585097};
  heasarc.vo->objects["M 31"] = {10.684708, 41.26875};
  return heasarc;
}

}  // namespace hfs::test
