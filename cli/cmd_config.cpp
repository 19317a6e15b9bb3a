// config (the effective configuration and where each value came from) and validate (config
// problems plus reachability checks of every server).
#include <algorithm>
#include <cstdio>

#include "cli/context.hpp"
#include "cli/table.hpp"
#include "core/process.hpp"
#include "core/text.hpp"
#include "deployer/deploy.hpp"
#include "deployer/registry.hpp"

namespace podlift::cli {

namespace {

struct Check {
  std::string name;
  std::string server;
  bool ok = false;
  std::string detail;
};

std::string first_line(std::string s) {
  s = trim_right(std::move(s));
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// Runs a command and records it as a check.
void remote_check(std::vector<Check>& checks, RemoteExecutor& remote, const std::string& name,
                  std::vector<std::string> argv, const std::string& missing_hint) {
  RemoteCommand cmd;
  cmd.argv = std::move(argv);
  cmd.timeout = std::chrono::seconds(20);
  auto r = remote.run(cmd);
  Check c{name, remote.name(), false, ""};
  if (!r) {
    c.detail = r.error();
  } else if (r->exit_status != 0) {
    c.detail = first_line(r->err.empty() ? r->out : r->err);
    if (r->exit_status == 127) c.detail = "not installed (" + missing_hint + ")";
  } else {
    c.ok = true;
    c.detail = first_line(r->out.empty() ? r->err : r->out);
  }
  checks.push_back(std::move(c));
}

void validate(Context& ctx) {
  const Config& config = ctx.config(/*require_secrets=*/false);
  std::vector<Check> checks;
  checks.push_back({"config", "", true, config.path + " is valid"});
  for (const auto& name : config.env.secret) {
    bool have = config.secrets.count(name) > 0;
    checks.push_back({"secret " + name, "", have,
                      have ? "set" : "not set in the environment or " + config.dir + "/.env"});
  }
  // Registry mode: the build box's login is checked here, each server's below.
  SystemProcessRunner runner;
  std::unique_ptr<Registry> registry;
  const bool registry_password =
      !registry_password_value(config).empty() || !config.registry.password_command.empty();
  if (config.registry.enabled() && !config.registry.username.empty() && !registry_password) {
    checks.push_back({"registry", "build box", false,
                      config.registry.password_secret + " is not set in the environment or " +
                          config.dir + "/.env (nor registry.password_command)"});
  } else if (config.registry.enabled()) {
    registry = std::make_unique<Registry>(config, runner);
    try {
      registry->login();
      checks.push_back(
          {"registry", "build box", true,
           config.registry.username.empty()
               ? config.registry.server + " (no username: no login)"
               : "logged in to " + config.registry.server + " as " + config.registry.username});
    } catch (const Error& e) {
      checks.push_back({"registry", "build box", false, e.what()});
      registry.reset();
    }
  }
  auto connect = ssh_connector(config);
  for (const auto& s : config.servers) {
    std::unique_ptr<RemoteExecutor> remote;
    try {
      remote = connect(s);
      checks.push_back({"ssh", server_label(s), true, "connected, host key verified"});
    } catch (const Error& e) {
      checks.push_back({"ssh", server_label(s), false, e.what()});
      continue;
    }
    remote_check(checks, *remote, "docker",
                 {"docker", "version", "--format", "server {{.Server.Version}}"},
                 "install docker.io");
    remote_check(checks, *remote, "nginx", {"nginx", "-v"}, "install nginx");
    remote_check(checks, *remote, "curl", {"curl", "--version"}, "install curl");
    if (registry && !config.registry.username.empty()) {
      try {
        checks.push_back({"registry", server_label(s), true, registry->check_login(*remote)});
      } catch (const Error& e) {
        checks.push_back({"registry", server_label(s), false, e.what()});
      }
    }
  }
  Table t({"CHECK", "SERVER", "RESULT", "DETAIL"});
  bool all_ok = true;
  for (const auto& c : checks) {
    all_ok = all_ok && c.ok;
    t.add({c.name, c.server.empty() ? "-" : c.server, c.ok ? "ok" : "FAIL", c.detail});
  }
  std::fputs(t.render().c_str(), stdout);
  if (!all_ok) {
    ctx.exit_code = static_cast<int>(ExitCode::kFailure);
    std::fprintf(stderr, "podlift: error: %zu of %zu checks failed\n",
                 static_cast<size_t>(std::count_if(checks.begin(), checks.end(),
                                                   [](const Check& c) { return !c.ok; })),
                 checks.size());
  }
}

}  // namespace

std::vector<Command> config_commands() {
  std::vector<Command> cmds;
  cmds.push_back({"config", "print the effective configuration and where each value came from",
                  [](CLI::App& sub, Context& ctx) {
                    sub.callback([&ctx] {
                      const Config& config = ctx.config(/*require_secrets=*/false);
                      Table t({"KEY", "VALUE", "SOURCE"});
                      for (const auto& line : describe(config))
                        t.add({line.key, line.value, line.origin});
                      std::fputs(t.render().c_str(), stdout);
                    });
                  }});
  cmds.push_back({"validate", "check the config, SSH (host keys), Docker and nginx on every server",
                  [](CLI::App& sub, Context& ctx) { sub.callback([&ctx] { validate(ctx); }); }});
  return cmds;
}

}  // namespace podlift::cli
