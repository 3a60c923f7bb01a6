// Process-wide log setup for every subcommand: one line per event, `key=value` words, on stderr
// (stdout is reserved for command output such as `lint -o json`).
//
//   configure_logging("json", "info");   // {"time":"...","level":"info","msg":"event=... uid=..."}
//   configure_logging("text", "debug");  // 2024-05-01T10:00:00.123Z info event=... uid=...
//
// Lines go through a 64 KiB stdio buffer: warnings and errors are flushed at once, the rest
// every second and at exit (one write(2) per admission decision cost ~15% of throughput).
// Call once at startup, before threads start logging. Returns false (and leaves logging as it
// was) for an unknown format or level, so the caller can report a usage error.
#pragma once

#include <string_view>

namespace latticeguard::webhook {

bool configure_logging(std::string_view format, std::string_view level);

}  // namespace latticeguard::webhook
