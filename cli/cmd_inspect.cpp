// ps (the service's containers per server) and logs (the app's container logs).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/context.hpp"
#include "cli/table.hpp"
#include "deployer/deploy.hpp"
#include "deployer/files.hpp"
#include "deployer/inventory.hpp"
#include "deployer/state.hpp"
#include "deployer/version.hpp"

namespace podlift::cli {

namespace {

void ps(Context& ctx, bool json, const std::string& only) {
  const Config& config = ctx.config(false);
  auto connect = ssh_connector(config);
  nlohmann::json out = nlohmann::json::array();
  Table t({"SERVER", "CONTAINER", "VERSION", "STATE", "PORT", "STATUS", "ROLE"});
  for (const auto& s : select_servers(config, only)) {
    auto remote = connect(s);
    auto live = read_live(*remote, config.service);
    for (const auto& c : list_containers(*remote, config.service)) {
      // live: nginx routes to it; retained: stopped, kept for rollback; running: neither (a
      // leftover of an interrupted deploy, removed by the next one).
      bool is_live = c.running() && live && c.name == live->container;
      std::string role = is_live ? "live" : (c.running() ? "running" : "retained");
      out.push_back({{"server", remote->name()},
                     {"container", c.name},
                     {"version", c.version_id},
                     {"state", c.state},
                     {"status", c.status},
                     {"port", c.host_port},
                     {"created_at", c.created_at},
                     {"live", is_live},
                     {"role", role},
                     {"image", c.image}});
      t.add({remote->name(), c.name, short_version(c.version_id), c.state,
             std::to_string(c.host_port), c.status, role});
    }
  }
  std::fputs(json ? (out.dump(2) + "\n").c_str() : t.render().c_str(), stdout);
}

void logs(Context& ctx, bool follow, const std::string& since, int lines, const std::string& only) {
  const Config& config = ctx.config(false);
  auto connect = ssh_connector(config);
  auto servers = select_servers(config, only);
  if (follow && servers.size() > 1) {
    throw UsageError("logs -f follows one server; pick it with --server");
  }
  for (const auto& s : servers) {
    auto remote = connect(s);
    auto containers = list_containers(*remote, config.service);
    // The running container, or the newest if none runs (e.g. to see why it crashed).
    const ContainerInfo* pick = nullptr;
    for (const auto& c : containers) {
      if (c.running()) {
        pick = &c;
        break;
      }
    }
    if (!pick && !containers.empty()) pick = &containers.front();
    if (!pick) {
      std::fprintf(stderr, "podlift: %s: no containers of %s\n", remote->name().c_str(),
                   config.service.c_str());
      continue;
    }
    if (servers.size() > 1) std::printf("==> %s %s\n", remote->name().c_str(), pick->name.c_str());
    std::fflush(stdout);
    RemoteCommand cmd;
    cmd.argv = {"docker", "logs"};
    if (follow) cmd.argv.push_back("--follow");
    if (!since.empty()) cmd.argv.insert(cmd.argv.end(), {"--since", since});
    if (lines >= 0) cmd.argv.insert(cmd.argv.end(), {"--tail", std::to_string(lines)});
    cmd.argv.push_back(pick->name);
    cmd.on_stdout = [](std::string_view c) {
      std::fwrite(c.data(), 1, c.size(), stdout);
      std::fflush(stdout);
    };
    cmd.on_stderr = [](std::string_view c) {
      std::fwrite(c.data(), 1, c.size(), stdout);
      std::fflush(stdout);
    };
    if (follow) cmd.timeout = std::chrono::hours(24 * 365);
    auto r = remote->run(cmd);
    if (!r) throw Error("docker logs on " + remote->name() + ": " + r.error());
    if (r->exit_status != 0) throw Error("docker logs on " + remote->name() + " failed");
  }
}

}  // namespace

std::vector<Command> inspect_commands() {
  std::vector<Command> cmds;
  cmds.push_back({"ps", "list the service's containers on each server: live, retained for rollback",
                  [](CLI::App& sub, Context& ctx) {
                    struct Opts {
                      bool json = false;
                      std::string server;
                    };
                    auto o = std::make_shared<Opts>();
                    sub.add_flag("--json", o->json, "machine-readable output");
                    sub.add_option("--server", o->server, "only this server")->check(non_empty());
                    sub.callback([&ctx, o] { ps(ctx, o->json, o->server); });
                  }});
  cmds.push_back(
      {"logs", "show the app container's logs", [](CLI::App& sub, Context& ctx) {
         struct Opts {
           bool follow = false;
           std::string since;
           int lines = -1;
           std::string server;
         };
         auto o = std::make_shared<Opts>();
         sub.add_flag("-f,--follow", o->follow, "keep streaming new lines");
         sub.add_option("--since", o->since, "only lines since (e.g. 10m, 2026-12-01T10:00:00)");
         sub.add_option("-n,--lines", o->lines, "only the last N lines")
             ->check(CLI::Validator(
                 [](std::string& v) {
                   return !v.empty() && v[0] == '-' ? std::string("must be 0 or more")
                                                    : std::string();
                 },
                 "N"));
         sub.add_option("--server", o->server, "only this server")->check(non_empty());
         sub.callback([&ctx, o] { logs(ctx, o->follow, o->since, o->lines, o->server); });
       }});
  return cmds;
}

}  // namespace podlift::cli
