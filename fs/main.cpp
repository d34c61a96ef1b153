// heasarcfs: parse the command line, open the cache, mount, serve until unmounted.
#include <fuse_lowlevel.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fs/fuse_ops.h"
#include "fs/mount_context.h"
#include "fs/options.h"
#include "common/error.h"
#include "common/log.h"

namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  return std::string(value);
}

int serve(const hfs::fs::MountOptions& options, hfs::fs::MountContext& context, const char* program) {
  // libfuse gets only what it needs: its own mount options (our -o options are ours).
  std::string mount_options = "fsname=heasarcfs,subtype=heasarcfs,ro";
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
    if (fuse_session_mount(session, options.mountpoint.c_str()) != 0) {
      hfs::log::error("main", "could not mount on " + options.mountpoint);
    } else {
      fuse_daemonize(options.foreground ? 1 : 0);
      if (!options.foreground) hfs::log::use_syslog("heasarcfs");
      try {
        hfs::fs::start_mount_context(context);
        hfs::log::info("main", "mounted on " + options.mountpoint + " (registry " + options.endpoints.registry +
                                   ", cache " + options.cache_dir.string() + ")");
        fuse_loop_config* config = fuse_loop_cfg_create();
        fuse_loop_cfg_set_max_threads(config, 32);
        status = fuse_session_loop_mt(session, config) == 0 ? 0 : 1;
        fuse_loop_cfg_destroy(config);
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  hfs::fs::MountOptions options;
  try {
    options = hfs::fs::parse_command_line(args, environment("XDG_CACHE_HOME"), environment("HOME"));
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
  hfs::log::set_threshold(options.debug ? hfs::log::Level::debug : hfs::log::Level::info);
  std::unique_ptr<hfs::fs::MountContext> context;
  try {
    context = hfs::fs::open_mount_context(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "heasarcfs: %s\n", error.what());
    return 1;
  }
  return serve(options, *context, argv[0]);
}
