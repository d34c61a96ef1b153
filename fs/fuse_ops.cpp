#include "fs/fuse_ops.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "fs/mount_context.h"

namespace hfs::fs {
namespace {

Filesystem& filesystem_of(fuse_req_t req) { return *static_cast<MountContext*>(fuse_req_userdata(req))->filesystem; }

// The context of one FUSE request that may wait on the remote services (lookup, getattr,
// opendir, open, read, getxattr): the mount's timeout= as its one deadline, and a token the kernel's
// interrupt (the caller got a signal: Ctrl-C, SIGTERM) cancels, so a call waiting on a hung
// server answers EINTR at once instead of holding the caller hostage (ETIMEDOUT when the
// deadline passes). The kernel interrupts synchronous requests only (not page-cache
// read-ahead, which ends on SIGKILL anyway).
class RequestCall {
 public:
  explicit RequestCall(fuse_req_t req)
      : req_(req),
        context_(CallContext::with_timeout(static_cast<MountContext*>(fuse_req_userdata(req))->options.timeout)) {
    // Called at once when the request was already interrupted.
    fuse_req_interrupt_func(req_, &RequestCall::on_interrupt, context_.cancel.get());
  }
  // Unregistered before the token goes: an interrupt may still arrive until the reply.
  ~RequestCall() { fuse_req_interrupt_func(req_, nullptr, nullptr); }
  RequestCall(const RequestCall&) = delete;
  RequestCall& operator=(const RequestCall&) = delete;
  const CallContext& context() const { return context_; }

 private:
  static void on_interrupt(fuse_req_t, void* token) { static_cast<CancelToken*>(token)->cancel(); }
  fuse_req_t req_;
  CallContext context_;
};

// Runs body(context) under a RequestCall, which is gone (unregistered) when this returns: the
// caller replies after it, since a request must not be touched once replied to.
template <class Body>
auto under_request_call(fuse_req_t req, Body&& body) {
  RequestCall call(req);
  return body(call.context());
}

// The one edge where exceptions become errnos. Every callback runs its body through it.
template <class Body>
void translate(fuse_req_t req, const char* operation, const std::string& what, Body&& body) noexcept {
  int errnum = 0;
  std::string message;
  bool remembered = false;
  try {
    body();
    return;
  } catch (const RememberedFailure& error) {
    errnum = error.errnum();
    message = error.what();
    remembered = true;
  } catch (const Error& error) {
    errnum = error.errnum();
    message = error.what();
  } catch (const std::bad_alloc&) {
    errnum = ENOMEM;
    message = "out of memory";
  } catch (const std::exception& error) {
    errnum = EIO;
    message = std::string("internal error: ") + error.what();
  } catch (...) {
    errnum = EIO;
    message = "internal error";
  }
  if (errnum == 0) errnum = EIO;
  static_cast<MountContext*>(fuse_req_userdata(req))->errors.count(errnum);
  // A missing name or attribute is an everyday answer (shells, ls and file managers probe),
  // and so is "no" to a write or an execute, a caller's buffer too small for an attribute, and
  // a failure answered again from a memo (its first time had its line: one `ls -l` of a
  // directory whose sizes failed logs one line, not one per entry). An interrupt is the
  // caller's choice (one info line); anything else is worth a warning saying which call on
  // what failed and why.
  bool everyday =
      errnum == ENOENT || errnum == EROFS || errnum == EACCES || errnum == ENODATA || errnum == ERANGE || remembered;
  auto level = everyday ? log::Level::debug : errnum == EINTR ? log::Level::info : log::Level::warn;
  log::write(level, operation, what + ": " + std::strerror(errnum) + ": " + message);
  fuse_reply_err(req, errnum);
}

struct stat to_stat(const Attributes& attributes) {
  struct stat st {};
  st.st_ino = attributes.ino;
  st.st_mode = attributes.is_dir ? (S_IFDIR | 0555) : (S_IFREG | 0444);
  st.st_nlink = attributes.is_dir ? 2 : 1;
  st.st_uid = getuid();
  st.st_gid = getgid();
  st.st_size = static_cast<off_t>(attributes.size);
  st.st_blksize = 4096;  // FITS tools size their reads by it (2880-byte records, 4 KiB pages)
  st.st_blocks = static_cast<blkcnt_t>((attributes.size + 511) / 512);
  st.st_mtim.tv_sec = attributes.mtime;
  st.st_atim = st.st_mtim;
  st.st_ctim = st.st_mtim;
  return st;
}

std::string describe(fuse_ino_t ino, const char* name = nullptr) {
  std::string text = "inode " + std::to_string(ino);
  if (name) text += " name '" + std::string(name) + "'";
  return text;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  translate(req, "lookup", describe(parent, name), [&] {
    auto entry =
        under_request_call(req, [&](const CallContext& call) { return filesystem_of(req).lookup(parent, name, call); });
    fuse_entry_param param{};
    param.ino = entry.attributes.ino;
    param.attr = to_stat(entry.attributes);
    param.attr_timeout = entry.attr_timeout;
    param.entry_timeout = entry.entry_timeout;
    fuse_reply_entry(req, &param);
  });
}

// The kernel dropped references to inodes: no reply but fuse_reply_none, and nothing that can
// fail (forget has no error to report).
void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  filesystem_of(req).forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  auto& filesystem = filesystem_of(req);
  for (size_t i = 0; i < count; ++i) filesystem.forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  translate(req, "getattr", describe(ino), [&] {
    auto entry = under_request_call(req, [&](const CallContext& call) { return filesystem_of(req).stat(ino, call); });
    auto st = to_stat(entry.attributes);
    fuse_reply_attr(req, &st, entry.attr_timeout);
  });
}

// A directory handle holds the whole listing, taken at opendir, so readdir offsets stay
// consistent while the user pages through it.
struct DirectoryHandle {
  std::vector<DirectoryEntry> entries;
};

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  translate(req, "opendir", describe(ino), [&] {
    auto handle = std::make_unique<DirectoryHandle>();
    handle->entries.push_back({".", ino, true});
    handle->entries.push_back({"..", ino, true});  // the kernel fills in the real parent
    auto entries =
        under_request_call(req, [&](const CallContext& call) { return filesystem_of(req).readdir(ino, call); });
    for (auto& entry : entries) handle->entries.push_back(std::move(entry));
    fi->fh = reinterpret_cast<std::uint64_t>(handle.get());
    fi->cache_readdir = 0;
    if (fuse_reply_open(req, fi) == 0) handle.release();
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  translate(req, "readdir", describe(ino), [&] {
    auto* handle = reinterpret_cast<DirectoryHandle*>(fi->fh);
    std::vector<char> buffer(size);
    size_t used = 0;
    for (size_t i = static_cast<size_t>(offset); i < handle->entries.size(); ++i) {
      const auto& entry = handle->entries[i];
      struct stat st {};
      st.st_ino = entry.ino;
      st.st_mode = entry.is_dir ? S_IFDIR : S_IFREG;
      size_t needed =
          fuse_add_direntry(req, buffer.data() + used, size - used, entry.name.c_str(), &st, static_cast<off_t>(i + 1));
      if (needed > size - used) break;
      used += needed;
    }
    fuse_reply_buf(req, buffer.data(), used);
  });
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirectoryHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  translate(req, "open", describe(ino), [&] {
    auto opened =
        under_request_call(req, [&](const CallContext& call) { return filesystem_of(req).open(ino, fi->flags, call); });
    fi->fh = opened.handle;
    fi->keep_cache = opened.keep_cache;
    fi->direct_io = opened.direct_io;
    if (fuse_reply_open(req, fi) != 0) filesystem_of(req).release(opened.handle);
  });
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  translate(req, "read", describe(ino) + " at " + std::to_string(offset) + "+" + std::to_string(size), [&] {
    auto reply = under_request_call(req, [&](const CallContext& call) {
      return filesystem_of(req).read(fi->fh, static_cast<std::uint64_t>(offset), size, call);
    });
    if (reply.pin) {
      // Verified blocks of the cache file: the kernel splices them from the descriptor (no
      // copy through user space); the pin keeps them from eviction until the reply is sent.
      fuse_bufvec buffer = FUSE_BUFVEC_INIT(reply.length);
      buffer.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
      buffer.buf[0].fd = reply.pin->fd();
      buffer.buf[0].pos = static_cast<off_t>(reply.offset);
      fuse_reply_data(req, &buffer, FUSE_BUF_SPLICE_MOVE);
    } else {
      fuse_reply_buf(req, reply.bytes.data(), reply.bytes.size());
    }
  });
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  translate(req, "release", "handle " + std::to_string(fi->fh), [&] {
    filesystem_of(req).release(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st {};
  st.f_bsize = 4096;
  st.f_frsize = 4096;
  st.f_namemax = 255;
  fuse_reply_statfs(req, &st);
}

void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  translate(req, "access", describe(ino) + " mask " + std::to_string(mask), [&] {
    filesystem_of(req).access(ino, mask);
    fuse_reply_err(req, 0);
  });
}

// size 0 asks for the value's size; a smaller buffer than the value is ERANGE.
void reply_xattr(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) fuse_reply_xattr(req, value.size());
  else if (size < value.size())
    throw Error(ERANGE, std::to_string(value.size()) + " bytes do not fit in " + std::to_string(size));
  else fuse_reply_buf(req, value.data(), value.size());
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  translate(req, "getxattr", describe(ino, name), [&] {
    auto value =
        under_request_call(req, [&](const CallContext& call) { return filesystem_of(req).xattr(ino, name, call); });
    reply_xattr(req, value, size);
  });
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  translate(req, "listxattr", describe(ino), [&] {
    std::string names;
    for (const auto& name : filesystem_of(req).xattr_names(ino)) names.append(name).push_back('\0');
    reply_xattr(req, names, size);
  });
}

// Every call that would change something, extended attributes included: the archive is
// read-only (EROFS, as the README documents).
void refuse_setattr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void refuse_mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { fuse_reply_err(req, EROFS); }
void refuse_mkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EROFS); }
void refuse_unlink(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void refuse_symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void refuse_rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
  fuse_reply_err(req, EROFS);
}
void refuse_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void refuse_write(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}
void refuse_create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void refuse_setxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { fuse_reply_err(req, EROFS); }
void refuse_removexattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void refuse_fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }

// What the kernel is told at mount. max_background: how many asynchronous requests (page
// cache read-ahead of every reader together) the kernel keeps in flight before making readers
// wait; its default of 12 would let a few readers starve the rest and cap what the prefetcher
// can serve in parallel. Splice: replies from a cache file go kernel to kernel. Parallel
// directory operations: see below. max_readahead: the kernel takes the smaller of this and the
// mount's read_ahead_kb, which main raised before this answer (fs/kernel_readahead.h).
void op_init(void* userdata, fuse_conn_info* conn) {
  conn->max_readahead = static_cast<unsigned>(static_cast<MountContext*>(userdata)->options.readahead);
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
  // Lookups and readdirs of one directory run in parallel: without it the kernel serializes
  // them, and one lookup blocked on a hung service (a new target in numaster/) would hold
  // every other lookup in that directory, cached names' revalidation included.
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  log::debug("init", "max_readahead " + std::to_string(conn->max_readahead) +
                         ", max_background 64, congestion_threshold 48, splice " +
                         std::string(conn->want & FUSE_CAP_SPLICE_WRITE ? "on" : "off") + ", parallel dirops " +
                         std::string(conn->want & FUSE_CAP_PARALLEL_DIROPS ? "on" : "off"));
}

fuse_lowlevel_ops make_operations() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.open = op_open;
  ops.read = op_read;
  ops.release = op_release;
  ops.statfs = op_statfs;
  ops.access = op_access;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.setattr = refuse_setattr;
  ops.mknod = refuse_mknod;
  ops.mkdir = refuse_mkdir;
  ops.unlink = refuse_unlink;
  ops.rmdir = refuse_unlink;
  ops.symlink = refuse_symlink;
  ops.rename = refuse_rename;
  ops.link = refuse_link;
  ops.write = refuse_write;
  ops.create = refuse_create;
  ops.setxattr = refuse_setxattr;
  ops.removexattr = refuse_removexattr;
  ops.fallocate = refuse_fallocate;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& fuse_operations() {
  static const fuse_lowlevel_ops operations = make_operations();
  return operations;
}

}  // namespace hfs::fs
