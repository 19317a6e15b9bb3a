// The long-running `podlift watch` process (see watch_service.cpp) and the paths it derives from
// the config, shared with `watch status|pause|resume` and with deploy/rollback's history records.
#pragma once

#include <string>

#include "core/config.hpp"
#include "core/process.hpp"

namespace podlift::cli {

// The repository the watcher follows: watch.repo (a relative path resolves against the config's
// directory), or the git repository holding podlift.yml. Throws ConfigError when neither exists.
std::string watch_repository(const Config& config, ProcessRunner& runner);
// <watch.state_dir>/<service>
std::string watch_state_dir(const Config& config);
// Runs until SIGTERM/SIGINT (or one step with `once`). Returns the exit code.
int run_watch_service(const std::string& config_path, const Config& config, bool once);

}  // namespace podlift::cli
