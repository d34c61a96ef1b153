#include "fs/cli.h"

#include "common/text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>

#include "common/error.h"

namespace hfs::fs {
namespace {

// The kernel's largest FUSE read: the commands read as a mounted `cat` would, so the
// fetcher's read-ahead sees the same sequential pattern.
constexpr std::size_t kReadChunk = 128 * 1024;

[[noreturn]] void bad_argument(const std::string& message) { throw Error(EINVAL, message); }

const char* verb_name(CliVerb verb) {
  switch (verb) {
    case CliVerb::ls: return "ls";
    case CliVerb::cat: return "cat";
    case CliVerb::cp: return "cp";
  }
  return "?";
}

std::vector<std::string> components_of(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string part(path.substr(start, slash - start));
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    start = slash + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
  std::string path;
  for (std::size_t i = 0; i < count; ++i) path += (i ? "/" : "") + parts[i];
  return path;
}

// Unlike std::sort on entries as they come, this is the order `ls` prints in the C locale.
// Each Filesystem call gets a deadline of its own (timeout=), as each FUSE request of a mount does.
CallContext one_call(std::chrono::milliseconds timeout) { return CallContext::with_timeout(timeout); }

std::vector<DirectoryEntry> sorted_listing(Filesystem& filesystem, std::uint64_t ino, bool all,
                                           std::chrono::milliseconds timeout) {
  auto entries = filesystem.readdir(ino, one_call(timeout));
  if (!all)
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [](const DirectoryEntry& entry) { return entry.name.rfind('.', 0) == 0; }),
                  entries.end());
  std::sort(entries.begin(), entries.end(),
            [](const DirectoryEntry& a, const DirectoryEntry& b) { return a.name < b.name; });
  return entries;
}

std::string utc_time(std::int64_t seconds) { return text::utc_text(seconds, "%Y-%m-%dT%H:%M:%SZ"); }

void print_entry(std::ostream& out, const std::string& name, const Attributes& attributes, bool long_format) {
  if (long_format) {
    char head[64];
    std::snprintf(head, sizeof head, "%c %12llu %s ", attributes.is_dir ? 'd' : '-',
                  static_cast<unsigned long long>(attributes.size), utc_time(attributes.mtime).c_str());
    out << head;
  }
  out << name << '\n';
}

using Report = std::function<void(const std::string& path, const Error& error)>;

void write_all(int fd, const char* data, std::size_t size, const std::string& what) {
  while (size > 0) {
    auto written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw Error(errno, "cannot write " + what + ": " + std::strerror(errno));
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

// Closes the handle however the copy ends.
class OpenHandle {
 public:
  OpenHandle(Filesystem& filesystem, std::uint64_t ino, std::chrono::milliseconds timeout) : filesystem_(filesystem) {
    handle_ = filesystem.open(ino, O_RDONLY, one_call(timeout)).handle;
  }
  ~OpenHandle() {
    try {
      filesystem_.release(handle_);
    } catch (const Error&) {
      // Releasing a handle this object opened cannot fail but for a bug; nothing to undo.
    }
  }
  OpenHandle(const OpenHandle&) = delete;
  OpenHandle& operator=(const OpenHandle&) = delete;
  std::uint64_t handle() const { return handle_; }

 private:
  Filesystem& filesystem_;
  std::uint64_t handle_ = 0;
};

// Every byte of the file `ino`, in kernel-sized reads, to `fd`. Returns the bytes written.
std::uint64_t stream_file(Filesystem& filesystem, std::uint64_t ino, int fd, std::chrono::milliseconds timeout,
                          const std::string& what) {
  OpenHandle open(filesystem, ino, timeout);
  std::uint64_t offset = 0;
  std::string buffer;
  for (;;) {
    auto reply = filesystem.read(open.handle(), offset, kReadChunk, one_call(timeout));
    std::size_t length = reply.pin ? static_cast<std::size_t>(reply.length) : reply.bytes.size();
    if (length == 0) break;
    if (reply.pin) {
      // A verified range of the cache file: copy it out (a mount would splice it).
      buffer.resize(length);
      std::size_t done = 0;
      while (done < length) {
        auto got =
            ::pread(reply.pin->fd(), buffer.data() + done, length - done, static_cast<off_t>(reply.offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) throw Error(got < 0 ? errno : EIO, "cannot read the cache file for " + what);
        done += static_cast<std::size_t>(got);
      }
      write_all(fd, buffer.data(), length, what);
    } else {
      write_all(fd, reply.bytes.data(), length, what);
    }
    offset += length;
  }
  return offset;
}

// A new file next to `target`, created with O_EXCL so the name is ours; the umask applies.
std::pair<int, std::filesystem::path> create_temporary_beside(const std::filesystem::path& target) {
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate =
        target.parent_path() / ("." + target.filename().string() + ".heasarcfs-" + std::to_string(random() % 1000000));
    int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return {fd, candidate};
    if (errno != EEXIST)
      throw Error(errno, "cannot create a file in " + target.parent_path().string() + ": " + std::strerror(errno));
  }
  throw Error(EEXIST, "cannot find a free temporary name beside " + target.string());
}

// The file's bytes into `target`: written to a temporary name and renamed over `target` only
// when complete, so a failed read never leaves a partial file looking like a copy. The mtime
// is the archive's.
void copy_file(Filesystem& filesystem, std::uint64_t ino, const Attributes& attributes,
               const std::filesystem::path& target, std::chrono::milliseconds timeout, const std::string& what) {
  auto [fd, temporary] = create_temporary_beside(target);
  try {
    stream_file(filesystem, ino, fd, timeout, what);
    timespec times[2] = {{attributes.mtime, 0}, {attributes.mtime, 0}};
    if (::futimens(fd, times) != 0)
      throw Error(errno, "cannot set the mtime of " + target.string() + ": " + std::strerror(errno));
    if (::close(fd) != 0) {
      fd = -1;
      throw Error(errno, "cannot write " + target.string() + ": " + std::strerror(errno));
    }
    fd = -1;
    if (::rename(temporary.c_str(), target.c_str()) != 0)
      throw Error(errno, "cannot rename into " + target.string() + ": " + std::strerror(errno));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
}

class Runner {
 public:
  Runner(const CliCommand& command, Filesystem& filesystem, const CliIo& io)
      : command_(command), filesystem_(filesystem), io_(io) {}

  int run() {
    switch (command_.verb) {
      case CliVerb::ls: list_all(); break;
      case CliVerb::cat: cat_all(); break;
      case CliVerb::cp: copy_all(); break;
    }
    io_.out.flush();
    return failed_ ? 1 : 0;
  }

 private:
  void report(const std::string& path, const Error& error) {
    failed_ = true;
    io_.err << "heasarcfs " << verb_name(command_.verb) << ": " << (path.empty() ? "/" : path) << ": "
            << std::strerror(error.errnum()) << ": " << error.what() << '\n';
  }

  // Runs `body`, reporting an hfs::Error against `path`; other exceptions are bugs and go on.
  template <class Body>
  void guarded(const std::string& path, Body&& body) {
    try {
      body();
    } catch (const Error& error) {
      report(path, error);
    }
  }

  void list_all() {
    auto paths = command_.paths.empty() ? std::vector<std::string>{""} : command_.paths;
    bool headers = paths.size() > 1;
    bool first = true;
    for (const auto& path : paths) {
      guarded(path, [&] {
        auto ino = resolve_path(filesystem_, path, io_.timeout);
        auto attributes = filesystem_.getattr(ino, one_call(io_.timeout));
        if (!attributes.is_dir) {
          print_entry(io_.out, path, attributes, command_.long_format);
          return;
        }
        if (headers) io_.out << (first ? "" : "\n") << (path.empty() ? "/" : path) << ":\n";
        first = false;
        list_directory(ino, "", path);
      });
    }
  }

  // One directory's entries; with -R the whole subtree, each entry as its path below the
  // listed directory, depth first in name order.
  void list_directory(std::uint64_t ino, const std::string& prefix, const std::string& shown) {
    for (const auto& entry : sorted_listing(filesystem_, ino, command_.all, io_.timeout)) {
      std::string relative = prefix + entry.name;
      std::string full = shown.empty() ? relative : shown + "/" + relative;
      guarded(full, [&] {
        bool need_attributes = command_.long_format || command_.recursive;
        Attributes attributes;
        attributes.is_dir = entry.is_dir;
        if (need_attributes) attributes = filesystem_.lookup(ino, entry.name, one_call(io_.timeout)).attributes;
        print_entry(io_.out, command_.recursive ? relative : entry.name, attributes, command_.long_format);
        if (command_.recursive && attributes.is_dir) list_directory(attributes.ino, relative + "/", shown);
      });
    }
  }

  void cat_all() {
    for (const auto& path : command_.paths)
      guarded(path, [&] {
        auto ino = resolve_path(filesystem_, path, io_.timeout);
        stream_file(filesystem_, ino, io_.out_fd, io_.timeout, path);
      });
  }

  void copy_all() {
    const auto& destination = command_.destination;
    std::error_code error;
    bool into_directory = std::filesystem::is_directory(destination, error);
    if (command_.paths.size() > 1 && !into_directory) {
      report(destination.string(), Error(ENOTDIR, "copying several paths needs an existing directory as DEST"));
      return;
    }
    for (const auto& path : command_.paths) {
      guarded(path, [&] {
        auto parts = components_of(path);
        if (parts.empty()) throw Error(EINVAL, "the root cannot be copied: name a table, target or row below it");
        auto ino = resolve_path(filesystem_, path, io_.timeout);
        auto attributes = filesystem_.getattr(ino, one_call(io_.timeout));
        if (attributes.is_dir && !command_.recursive) throw Error(EISDIR, "is a directory (use cp -r)");
        auto target = into_directory ? destination / parts.back() : destination;
        copy_entry(ino, attributes, target, path);
      });
    }
  }

  void copy_entry(std::uint64_t ino, const Attributes& attributes, const std::filesystem::path& target,
                  const std::string& path) {
    if (!attributes.is_dir) {
      copy_file(filesystem_, ino, attributes, target, io_.timeout, path);
      return;
    }
    if (::mkdir(target.c_str(), 0755) != 0) {
      int errnum = errno;
      std::error_code error;
      if (errnum != EEXIST || !std::filesystem::is_directory(target, error))
        throw Error(errnum, "cannot create directory " + target.string() + ": " + std::strerror(errnum));
    }
    for (const auto& entry : sorted_listing(filesystem_, ino, true, io_.timeout)) {
      std::string child_path = path + "/" + entry.name;
      guarded(child_path, [&] {
        auto child = filesystem_.lookup(ino, entry.name, one_call(io_.timeout)).attributes;
        copy_entry(child.ino, child, target / entry.name, child_path);
      });
    }
  }

  const CliCommand& command_;
  Filesystem& filesystem_;
  const CliIo& io_;
  bool failed_ = false;
};

}  // namespace

bool is_cli_verb(std::string_view word) { return word == "ls" || word == "cat" || word == "cp"; }

CliCommand parse_cli_command(const std::vector<std::string>& args, std::optional<std::string> xdg_cache_home,
                             std::optional<std::string> home) {
  CliCommand command;
  if (args.empty() || !is_cli_verb(args[0])) bad_argument("expected a command: ls, cat or cp");
  command.verb = args[0] == "ls" ? CliVerb::ls : args[0] == "cat" ? CliVerb::cat : CliVerb::cp;
  const std::string verb = args[0];
  std::string flags = command.verb == CliVerb::ls ? "alR" : command.verb == CliVerb::cp ? "rR" : "";
  std::vector<std::string> positional;
  bool only_positional = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
    } else if (arg == "--") {
      only_positional = true;
    } else if (arg == "-h" || arg == "--help") {
      command.options.show_help = true;
    } else if (arg == "-o") {
      if (i + 1 >= args.size()) bad_argument("option '-o' needs an argument");
      ++i;
      apply_options(command.options, args[i], "-o " + args[i]);
    } else if (arg.rfind("-o", 0) == 0) {
      apply_options(command.options, arg.substr(2), arg);
    } else if (arg[1] != '-' && arg.find_first_not_of(flags, 1) == std::string::npos) {
      for (char flag : arg.substr(1)) {
        if (flag == 'a') command.all = true;
        else if (flag == 'l') command.long_format = true;
        else command.recursive = true;  // ls -R, cp -r / -R
      }
    } else {
      bad_argument("unknown option '" + arg + "' for heasarcfs " + verb + " (see --help)");
    }
  }
  if (command.options.show_help) return command;
  finish_options(command.options, std::move(xdg_cache_home), std::move(home));
  // A command's output is its answer: only warnings and errors go to stderr unless asked.
  if (!command.options.log_level_given) command.options.log_level = log::Level::warn;
  if (command.verb == CliVerb::cp) {
    if (positional.size() < 2) bad_argument("heasarcfs cp needs PATH... DEST");
    command.destination = positional.back();
    positional.pop_back();
    if (command.destination.empty()) bad_argument("empty DEST");
  } else if (command.verb == CliVerb::cat && positional.empty()) {
    bad_argument("heasarcfs cat needs a PATH");
  }
  command.paths = std::move(positional);
  return command;
}

std::uint64_t resolve_path(Filesystem& filesystem, std::string_view path, std::chrono::milliseconds timeout) {
  auto parts = components_of(path);
  std::uint64_t ino = kRootInode;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    try {
      ino = filesystem.lookup(ino, parts[i], one_call(timeout)).attributes.ino;
    } catch (const Error& error) {
      if (i + 1 == parts.size()) throw;
      throw Error(error.errnum(), "at '" + join(parts, i + 1) + "': " + error.what());
    }
  }
  return ino;
}

int run_cli(const CliCommand& command, Filesystem& filesystem, const CliIo& io) {
  return Runner(command, filesystem, io).run();
}

}  // namespace hfs::fs
