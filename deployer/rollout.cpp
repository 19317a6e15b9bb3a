#include "deployer/rollout.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <sstream>

#include "core/text.hpp"
#include "deployer/docker.hpp"
#include "deployer/drain.hpp"
#include "deployer/files.hpp"
#include "deployer/health.hpp"
#include "deployer/inventory.hpp"
#include "deployer/nginx.hpp"
#include "deployer/state.hpp"
#include "deployer/version.hpp"

namespace podlift {

namespace {
constexpr int kPortLow = 20000;
constexpr int kPortHigh = 32000;  // below the usual ephemeral range (32768+)

std::string log_tail(RemoteExecutor& remote, const std::string& container) {
  RemoteCommand cmd;
  cmd.argv = {"docker", "logs", "--tail", "15", container};
  auto r = remote.run(cmd);
  if (!r) return "";
  std::string text = trim_right(r->out + r->err);
  if (text.empty()) return "";
  std::string out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out += "\n  | " + line;
  return "\nlast log lines of " + container + ":" + out;
}
}  // namespace

std::vector<int> parse_listening_ports(const std::string& ss_output) {
  // Lines like "LISTEN 0 4096 127.0.0.1:20001 0.0.0.0:*" or "[::]:22": the 4th field's port.
  std::vector<int> ports;
  std::stringstream ss(ss_output);
  std::string line;
  while (std::getline(ss, line)) {
    std::stringstream ls(line);
    std::string f1, f2, f3, local;
    if (!(ls >> f1 >> f2 >> f3 >> local)) continue;
    auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    int p = std::atoi(local.c_str() + colon + 1);
    if (p > 0) ports.push_back(p);
  }
  return ports;
}

int Rollout::pick_port(const std::set<int>& avoid) {
  std::set<int> used = avoid;
  for (int p : parse_listening_ports(run_checked(remote_, {"ss", "-Htln"}, "listing ports")))
    used.insert(p);
  static std::mt19937 rng{std::random_device{}()};
  for (int i = 0; i < 1000; ++i) {
    int p = kPortLow + static_cast<int>(rng() % (kPortHigh - kPortLow));
    if (!used.count(p)) return p;
  }
  throw Error("no free port between " + std::to_string(kPortLow) + " and " +
              std::to_string(kPortHigh) + " on " + remote_.name());
}

void Rollout::stop_container(const std::string& container) {
  RemoteCommand stop;
  stop.argv = {"docker", "stop", "--time",
               std::to_string(std::max<long long>(1, config_.stop_timeout.count() / 1000)),
               container};
  auto r = remote_.run(stop);
  if (!r || r->exit_status != 0) {
    say_("warning: could not stop " + container + ": " + (r ? trim_right(r->err) : r.error()));
  }
}

RolloutResult Rollout::run(const std::string& image, const std::string& version_id) {
  RolloutResult res;
  auto timed = [&](const std::string& step, auto&& fn) {
    if (on_step_) on_step_(step);
    timed_step(clock_, res.steps, step, fn);
  };

  NginxSite site(remote_, config_);
  PortGate gate(remote_, config_.service);
  std::string name = new_container_name(config_.service, version_id);
  const std::string env_path = env_file_path(config_.service, name);
  const ContainerInfo* live = nullptr;  // what serves now
  std::vector<ContainerInfo> before;
  int old_port = 0;
  bool started = false, gate_closed = false;
  auto discard_new = [&] {
    if (gate_closed) gate.open(old_port);  // the old version takes traffic again
    if (res.port) gate.open(res.port);
    if (started) {
      RemoteCommand rm;
      rm.argv = {"docker", "rm", "--force", name};
      (void)remote_.run(rm);
      RemoteCommand rmenv;
      rmenv.argv = {"rm", "-f", "--", env_path};
      (void)remote_.run(rmenv);
      // A version that never served leaves no image behind; this fails harmlessly while a
      // retained container (e.g. the target of a rollback) still uses the image.
      RemoteCommand rmi;
      rmi.argv = {"docker", "image", "rm", image};
      (void)remote_.run(rmi);
    }
    site.restore();
  };

  try {
    timed("start", [&] {
      gate.clear_all();  // rules left by a deploy that was killed half-way
      before = list_containers(remote_, config_.service);
      auto record = read_live(remote_, config_.service);
      for (const auto& c : before) {
        if (c.running() && record && c.name == record->container) live = &c;
      }
      for (const auto& c : before) {  // no record (older podlift): the newest running one
        if (!live && c.running()) live = &c;
      }
      if (live) {
        old_port = live->host_port;
        res.previous_version = live->version_id;
      }
      // Anything else of ours still running is a leftover of an interrupted deploy: drain it
      // and remove it so its slot is free.
      for (const auto& c : before) {
        if (!c.running() || &c == live) continue;
        if (c.host_port <= 0) {  // not one of ours in a slot: just stop it
          stop_container(c.name);
          continue;
        }
        say_("removing " + c.name + ", left running by an interrupted deploy");
        gate.close(c.host_port);
        gate.wait_drained(c.host_port, clock_, config_.drain_timeout);
        stop_container(c.name);
        gate.open(c.host_port);
      }
      // The new version goes to the slot the live one does not use; slots change (and nginx
      // reloads) only on the first deploy or when a slot port was taken by something else.
      std::optional<Slots> slots;
      if (auto text = site.current()) slots = parse_nginx_site(*text);
      if (slots && old_port && !slots->has(old_port)) slots.reset();
      std::set<int> listening;
      for (int p : parse_listening_ports(run_checked(remote_, {"ss", "-Htln"}, "listing ports")))
        listening.insert(p);
      int keep = 0;  // the slot that is not the new one
      if (slots) {
        res.port = old_port ? slots->other(old_port) : slots->a;
        keep = slots->other(res.port);
        if (listening.count(res.port)) {
          say_("slot port " + std::to_string(res.port) +
               " is taken by another process; moving the slot");
          res.port = pick_port({keep});
        }
      } else {
        res.port = pick_port({old_port});
        keep = old_port ? old_port : pick_port({res.port});
      }
      Slots next = res.port < keep ? Slots{res.port, keep} : Slots{keep, res.port};
      if (site.ensure(render_nginx_site(config_, std::to_string(next.a), std::to_string(next.b)))) {
        say_("nginx site written for slots " + std::to_string(next.a) + " and " +
             std::to_string(next.b));
      }

      write_remote_file(remote_, env_path, env_file_contents(config_, version_id, false), "600");
      // nginx must not reach the new slot before the app there is healthy (see drain.hpp).
      gate.close(res.port);
      started = true;
      RunSpec spec{name, image, version_id, std::to_string(res.port), env_path};
      RemoteCommand run;
      run.argv = docker_run_argv(config_, spec);
      auto r = remote_.run(run);
      if (!r) throw Error("starting " + name + " on " + remote_.name() + ": " + r.error());
      if (r->exit_status != 0) {
        throw Error("docker run on " + remote_.name() + " failed: " + trim_right(r->err));
      }
      res.container = name;
      say_("started " + name + " on 127.0.0.1:" + std::to_string(res.port));
    });

    timed("health", [&] {
      auto h = wait_healthy(remote_, clock_, config_.healthcheck, res.port, name);
      if (!h.healthy) {
        std::string hint;
        if (h.last.rfind("connection", 0) == 0 || h.last.rfind("empty reply", 0) == 0) {
          hint = "; is app_port (" + std::to_string(config_.app_port) +
                 ") the port the app listens on inside its container?";
        }
        throw Error("version " + short_version(version_id) + " did not become healthy on " +
                        remote_.name() + " within " +
                        format_duration(config_.healthcheck.deadline) + " (" +
                        std::to_string(h.attempts) + " checks of " + config_.healthcheck.path +
                        ", last: " + h.last + ")" + hint + log_tail(remote_, name),
                    ExitCode::kUnhealthy);
      }
      say_("healthy after " + std::to_string(h.attempts) + " check(s): " + h.last);
    });

    timed("switch", [&] {
      // The new slot opens; new connections to the old slot are refused from here, so nginx
      // sends every new request to the new version; requests in flight to the old one go on.
      gate.open(res.port);
      if (old_port) {
        gate.close(old_port);
        gate_closed = true;
      }
      site.confirm_answering(res.port, clock_);
      write_live(remote_, config_.service, {name, version_id, res.port});
      say_("nginx now routes to " + short_version(version_id));
    });
  } catch (...) {
    discard_new();
    throw;
  }

  // From here the new version serves. Failures below are reported but do not undo the deploy.
  if (live) {
    timed("drain", [&] {
      int left = gate.wait_drained(old_port, clock_, config_.drain_timeout);
      if (left > 0) {
        say_("warning: " + std::to_string(left) +
             " connection(s) to the old version still open "
             "after drain_timeout " +
             format_duration(config_.drain_timeout));
      }
    });
    timed("stop old", [&] {
      stop_container(live->name);
      gate.open(old_port);
    });
  }

  timed("prune", [&] {
    auto all = list_containers(remote_, config_.service);  // newest first
    // Keep the new container, anything still running, and the newest `retain` versions (the
    // live one counts); a second container of a kept version (a redeploy) is a spare copy.
    std::set<std::string> kept_versions;
    std::vector<ContainerInfo> removed;
    for (const auto& c : all) {
      bool keep = c.name == name || c.running() ||
                  (!kept_versions.count(c.version_id) &&
                   kept_versions.size() < static_cast<size_t>(config_.retain));
      if (keep) {
        kept_versions.insert(c.version_id);
      } else {
        removed.push_back(c);
      }
    }
    for (const auto& c : removed) {
      RemoteCommand rm;
      rm.argv = {"docker", "rm", "--force", c.name};
      (void)remote_.run(rm);
      RemoteCommand rmenv;
      rmenv.argv = {"rm", "-f", "--", env_file_path(config_.service, c.name)};
      (void)remote_.run(rmenv);
      if (!kept_versions.count(c.version_id)) {
        RemoteCommand rmi;
        rmi.argv = {"docker", "image", "rm", c.image};
        (void)remote_.run(rmi);  // fails harmlessly if another container still uses it
      }
    }
    if (!removed.empty()) say_("removed " + std::to_string(removed.size()) + " old container(s)");
  });
  return res;
}

}  // namespace podlift
