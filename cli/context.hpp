// What every command handler gets: global options and lazily loaded configuration.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"

namespace podlift::cli {

struct Context {
  std::string config_path = "podlift.yml";
  bool verbose = false;
  int exit_code = 0;

  // Loads config_path (once), registering every secret with the redactor.
  const Config& config(bool require_secrets = true);
  void say(const std::string& line) const { std::cout << line << std::endl; }

 private:
  std::optional<Config> config_;
};

// One row of the command table.
struct Command {
  const char* name;
  const char* summary;
  // Adds the command's options to `sub` and sets its callback.
  std::function<void(CLI::App& sub, Context& ctx)> define;
};

// A CLI11 check that rejects an empty value ("--server ''" must not mean "all servers").
CLI::Validator non_empty();

// Command groups, one per file.
std::vector<Command> basic_commands();    // version, init, and the not-yet-implemented stubs
std::vector<Command> config_commands();   // config, validate
std::vector<Command> deploy_commands();   // deploy
std::vector<Command> inspect_commands();  // ps, logs
std::vector<Command> lock_commands();     // lock status|acquire|release
std::vector<Command> watch_commands();    // watch [status|pause|resume], __git (hidden)
std::vector<Command> planned_commands();  // setup, rollback, exec, ssl, status: say so, exit 2

}  // namespace podlift::cli
