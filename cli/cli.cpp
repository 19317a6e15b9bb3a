#include "cli/cli.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "cli/context.hpp"
#include "core/interrupt.hpp"
#include "core/redact.hpp"
#include "core/suggest.hpp"

namespace podlift::cli {

const Config& Context::config(bool require_secrets) {
  if (!config_) {
    LoadOptions opts;
    opts.require_secrets = require_secrets;
    config_ = load_config(config_path, opts);
    for (const auto& [name, value] : config_->secrets) register_secret(value);
  }
  return *config_;
}

CLI::Validator non_empty() {
  return CLI::Validator(
      [](std::string& value) { return value.empty() ? std::string("must not be empty") : ""; },
      "NON-EMPTY");
}

namespace {
// CLI11's own messages, in podlift's error format, with a did-you-mean for a mistyped flag.
void print_parse_error(CLI::App& app, const CLI::ParseError& e) {
  CLI::App* cmd = &app;
  for (CLI::App* sub : app.get_subcommands()) cmd = sub;
  std::string what = e.what();
  std::string hint;
  auto quote = what.rfind(": ");
  if (what.find("not expected") != std::string::npos && quote != std::string::npos) {
    std::string arg = what.substr(quote + 2);
    std::vector<std::string> flags;
    for (const CLI::Option* opt : cmd->get_options()) {
      for (const auto& l : opt->get_lnames()) flags.push_back("--" + l);
    }
    hint = did_you_mean(arg, flags);
  }
  std::string name = cmd == &app ? "podlift" : "podlift " + cmd->get_name();
  std::fprintf(stderr, "podlift: error: %s%s\nRun `%s --help`.\n", what.c_str(), hint.c_str(),
               name.c_str());
}

// "<3>" (syslog "error") when stderr goes to the journal, as for the watcher's service.
const char* journal_error() {
  return std::getenv("JOURNAL_STREAM") ? "<3>" : "";
}

std::vector<Command> command_table() {
  std::vector<Command> all;
  for (auto group : {basic_commands, config_commands, deploy_commands, inspect_commands,
                     lock_commands, watch_commands, planned_commands}) {
    for (auto& c : group()) all.push_back(std::move(c));
  }
  return all;
}
}  // namespace

int run(int argc, char** argv) {
  setup_logging(false);
  install_interrupt_handlers();
  Context ctx;
  if (const char* c = std::getenv("PODLIFT_CONFIG"); c && *c) ctx.config_path = c;
  CLI::App app{"podlift: push-to-deploy onto your own servers, with zero downtime", "podlift"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("podlift ") + PODLIFT_VERSION);
  app.add_option("-c,--config", ctx.config_path, "podlift.yml to use (env PODLIFT_CONFIG)")
      ->check(non_empty());
  app.add_flag("-v,--verbose", ctx.verbose, "show build output and debug messages")
      ->each([](const std::string&) { setup_logging(true); });

  auto table = command_table();
  std::vector<std::string> names;
  for (auto& cmd : table) {
    names.emplace_back(cmd.name);
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.summary);
    cmd.define(*sub, ctx);
  }

  // An unknown command or global option gets a suggestion rather than CLI11's generic text.
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-c" || a == "--config") {
      ++i;
      continue;
    }
    if (a.rfind("--config=", 0) == 0) continue;
    if (!a.empty() && a[0] == '-') {
      static const std::vector<std::string> global = {"-h",       "--help", "--version", "-c",
                                                      "--config", "-v",     "--verbose"};
      if (std::find(global.begin(), global.end(), a) == global.end()) {
        std::fprintf(stderr, "podlift: error: unknown option \"%s\"%s\nRun `podlift --help`.\n",
                     a.c_str(), did_you_mean(a, global).c_str());
        return static_cast<int>(ExitCode::kUsage);
      }
      continue;
    }
    if (a.empty()) continue;
    if (std::find(names.begin(), names.end(), a) == names.end()) {
      std::fprintf(stderr,
                   "podlift: error: unknown command \"%s\"%s\nRun `podlift --help` for the list.\n",
                   a.c_str(), did_you_mean(a, names).c_str());
      return static_cast<int>(ExitCode::kUsage);
    }
    break;
  }

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      print_parse_error(app, e);
      return static_cast<int>(ExitCode::kUsage);
    }
    return ctx.exit_code;
  } catch (const Error& e) {
    std::fprintf(stderr, "%spodlift: error: %s\n", journal_error(), redact(e.what()).c_str());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%spodlift: error: %s\n", journal_error(), redact(e.what()).c_str());
    return static_cast<int>(ExitCode::kFailure);
  }
}

}  // namespace podlift::cli
