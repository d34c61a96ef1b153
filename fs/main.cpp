// heasarcfs: parse the command line, open the cache, mount, serve until unmounted; or, with
// ls/cat/cp as the first word, run that command on the same filesystem without a mount.
#include <fuse_lowlevel.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "fs/cli.h"
#include "fs/fuse_notifier.h"
#include "fs/fuse_ops.h"
#include "fs/kernel_readahead.h"
#include "fs/mount_context.h"
#include "fs/options.h"

namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  return std::string(value);
}

// mount(8) runs its helpers with an empty environment, and mount.fuse3 -o setuid=USER does
// not set HOME: the default cache directory then comes from the user's passwd entry.
std::optional<std::string> home_directory() {
  if (auto home = environment("HOME"); home && !home->empty()) return home;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_dir &&
      found->pw_dir[0])
    return std::string(found->pw_dir);
  return std::nullopt;
}

// Ends a mount context: no more calls (the filesystem first), then the rest, on this thread.
// The background pool is owned here and only weakly held by the RemoteView, so its workers
// are joined from this thread whatever a running prefetch job still holds.
void close_mount_context(std::unique_ptr<hfs::fs::MountContext> context) {
  if (!context) return;
  context->filesystem.reset();
  context.reset();
}

int serve(const hfs::fs::MountOptions& options, hfs::fs::MountContext& context, const char* program) {
  // libfuse gets only what it needs: its own mount options (our -o options are ours).
  std::string mount_options = hfs::fs::fsname_option(options.source) + ",subtype=heasarcfs,ro";
  for (const auto& option : options.fuse_options) mount_options += "," + option;
  std::vector<std::string> fuse_args_text = {program, "-o", mount_options};
  if (options.debug) fuse_args_text.push_back("-d");
  std::vector<char*> argv;
  for (auto& arg : fuse_args_text) argv.push_back(arg.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  fuse_session* session = fuse_session_new(&args, &hfs::fs::fuse_operations(), sizeof(fuse_lowlevel_ops), &context);
  if (!session) {
    hfs::log::error("main", "could not create the FUSE session");
    return 1;
  }
  int status = 1;
  if (fuse_set_signal_handlers(session) != 0) {
    hfs::log::error("main", "could not install signal handlers");
  } else {
    // A mount point /dev/fd/N is a /dev/fuse descriptor a privileged helper opened and mounted
    // (mount.fuse3 -o drop_privileges, a container runtime): libfuse serves it as it is and
    // leaves the unmount to whoever mounted it.
    // The mount point as /proc/self/mountinfo will show it, resolved before it is ours (a
    // stat of our own root from this thread, once mounted, would wait for this very loop).
    std::error_code unresolved;
    const auto resolved_mountpoint = std::filesystem::canonical(options.mountpoint, unresolved).string();
    if (fuse_session_mount(session, options.mountpoint.c_str()) != 0) {
      hfs::log::error("main", "could not mount on " + options.mountpoint);
    } else {
      fuse_daemonize(options.foreground ? 1 : 0);
      if (!options.foreground) hfs::log::use_syslog("heasarcfs");
      // Not for /dev/fd/N: whoever mounted it owns the mount point (and its tuning).
      const bool mounted_by_us = options.mountpoint.rfind("/dev/fd/", 0) != 0;
      if (options.readahead != hfs::fs::kKernelDefaultReadahead && mounted_by_us && !unresolved) {
        try {
          hfs::fs::set_kernel_readahead(resolved_mountpoint, options.readahead);
          hfs::log::debug("main", "kernel read-ahead " + std::to_string(options.readahead / 1024) + " KiB");
        } catch (const hfs::Error& error) {
          hfs::log::info("main", std::string("the kernel's read-ahead stays at 128 KiB: ") + error.what());
        }
      }
      try {
        hfs::fs::start_mount_context(context);
        // Changed nodes are told to the kernel through the session (fs/kernel_notifier.h);
        // detached and joined below, before the session goes.
        auto notifier = hfs::fs::make_fuse_notifier(session);
        context.filesystem->set_notifier(notifier);
        hfs::log::info("main", "mounted " + options.source + " on " + options.mountpoint + " (registry " +
                                   options.endpoints.registry + ", cache " + options.cache_dir.string() + ", " +
                                   (options.single_threaded ? "single-threaded" : "multi-threaded") + ")");
        // 0: unmounted (fusermount3 -u, umount, a lazy unmount once the last file closed);
        // a signal number: SIGTERM/SIGINT/SIGHUP (libfuse unmounts below); negative: an error.
        int result = 0;
        if (options.single_threaded) {
          result = fuse_session_loop(session);
        } else {
          fuse_loop_config* config = fuse_loop_cfg_create();
          fuse_loop_cfg_set_max_threads(config, 32);
          result = fuse_session_loop_mt(session, config);
          fuse_loop_cfg_destroy(config);
        }
        context.filesystem->set_notifier(nullptr);
        notifier.reset();
        if (result < 0) {
          hfs::log::error("main", std::string("serving the mount failed: ") + std::strerror(-result));
        } else {
          status = 0;
          hfs::log::info("main", result == 0 ? "unmounted, exiting"
                                             : "signal " + std::to_string(result) + ", unmounting and exiting");
        }
      } catch (const std::exception& error) {
        hfs::log::error("main", std::string("could not start: ") + error.what());
      }
      fuse_session_unmount(session);
    }
    fuse_remove_signal_handlers(session);
  }
  fuse_session_destroy(session);
  fuse_opt_free_args(&args);
  return status;
}

int run_command(const std::vector<std::string>& args) {
  hfs::fs::CliCommand command;
  try {
    command = hfs::fs::parse_cli_command(args, environment("XDG_CACHE_HOME"), home_directory());
  } catch (const hfs::Error& error) {
    std::fprintf(stderr, "heasarcfs: %s\n", error.what());
    return 2;
  }
  if (command.options.show_help) {
    std::fputs(hfs::fs::usage_text("heasarcfs").c_str(), stdout);
    return 0;
  }
  hfs::log::set_threshold(command.options.log_level);
  std::unique_ptr<hfs::fs::MountContext> context;
  try {
    context = hfs::fs::open_mount_context(command.options);
    hfs::fs::start_mount_context(*context);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "heasarcfs: %s\n", error.what());
    return 1;
  }
  hfs::fs::CliIo io{std::cout, STDOUT_FILENO, std::cerr,
                    std::chrono::duration_cast<std::chrono::milliseconds>(command.options.timeout)};
  int status = hfs::fs::run_cli(command, *context->filesystem, io);
  close_mount_context(std::move(context));
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && hfs::fs::is_cli_verb(args[0])) return run_command(args);
  hfs::fs::MountOptions options;
  try {
    options = hfs::fs::parse_command_line(args, environment("XDG_CACHE_HOME"), home_directory());
  } catch (const hfs::Error& error) {
    std::fprintf(stderr, "heasarcfs: %s\n", error.what());
    return 2;
  }
  if (options.show_help) {
    std::fputs(hfs::fs::usage_text("heasarcfs").c_str(), stdout);
    return 0;
  }
  if (options.show_version) {
    std::printf("heasarcfs %s (libfuse %s)\n", HEASARCFS_VERSION, fuse_pkgversion());
    return 0;
  }
  hfs::log::set_threshold(options.log_level);
  std::unique_ptr<hfs::fs::MountContext> context;
  try {
    context = hfs::fs::open_mount_context(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "heasarcfs: %s\n", error.what());
    return 1;
  }
  int status = serve(options, *context, argv[0]);
  close_mount_context(std::move(context));
  return status;
}
