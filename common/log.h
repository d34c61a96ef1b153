// Logging to stderr, one line per event: "<level> <component>: <message>".
//
// The threshold and the sink are set at start (main) before any thread runs; after that they
// are only read. A daemonized mount has no stderr (fuse_daemonize points it at /dev/null), so
// it logs to syslog instead.
#pragma once

#include <string_view>

namespace hfs::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_threshold(Level level);
void use_syslog(const char* identity);
bool enabled(Level level);
// Writes one line; the message goes through text::loggable (credentials of URLs left out,
// control characters escaped), so no log site has to remember to.
void write(Level level, std::string_view component, std::string_view message);

inline void debug(std::string_view component, std::string_view message) { write(Level::debug, component, message); }
inline void info(std::string_view component, std::string_view message) { write(Level::info, component, message); }
inline void warn(std::string_view component, std::string_view message) { write(Level::warn, component, message); }
inline void error(std::string_view component, std::string_view message) { write(Level::error, component, message); }

}  // namespace hfs::log
