// The gateway's entry point: binds every listener, starts one shard per
// core, and runs the process lifecycle (SIGHUP reload, SIGTERM/SIGINT
// drain) on the calling thread until the shards have stopped.
#pragma once

#include <string>

#include "config/config.h"

namespace ringmx::core {

// `config_path`: the file SIGHUP reloads; empty = the embedded default.
// Returns the process exit code: 0 after a clean drain, 1 when the start
// failed (a bind, the root check, run-as, a shard's ring or spool).
int run_server(const config::Config& cfg, const std::string& config_path);

}  // namespace ringmx::core
