#include "deployer/deploy.hpp"

#include <cstdio>
#include <sstream>

#include "core/interrupt.hpp"
#include "core/quote.hpp"
#include "core/text.hpp"
#include "deployer/docker.hpp"
#include "deployer/drain.hpp"
#include "deployer/health.hpp"
#include "deployer/lock.hpp"
#include "deployer/nginx.hpp"
#include "deployer/registry.hpp"
#include "deployer/ship.hpp"
#include "deployer/ssh.hpp"

namespace podlift {

namespace {
std::string indent(const std::string& text, const std::string& pad) {
  std::string out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out += pad + line + "\n";
  return out;
}
}  // namespace

std::string server_label(const ServerConfig& s) {
  return s.user + "@" + s.host + ":" + std::to_string(s.port);
}

std::string service_url(const Config& config, const ServerConfig& s) {
  std::string host = config.nginx.server_name == "_" ? s.host : config.nginx.server_name;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  std::string port = config.nginx.listen == 80 ? "" : ":" + std::to_string(config.nginx.listen);
  return "http://" + host + port + "/";
}

Connector ssh_connector(const Config& config) {
  return [&config](const ServerConfig& s) {
    SshTarget t;
    t.host = s.host;
    t.port = s.port;
    t.user = s.user;
    t.identity_file = s.identity_file;
    t.known_hosts = config.ssh.known_hosts;
    t.connect_timeout = config.ssh.connect_timeout;
    t.command_timeout = config.ssh.command_timeout;
    return ssh_connect(t);
  };
}

std::vector<ServerConfig> select_servers(const Config& config, const std::string& only) {
  if (only.empty()) return config.servers;
  std::vector<ServerConfig> out;
  for (const auto& s : config.servers) {
    if (s.host == only || server_label(s) == only) out.push_back(s);
  }
  if (out.empty()) {
    std::string known;
    for (const auto& s : config.servers) known += (known.empty() ? "" : ", ") + s.host;
    throw UsageError("no server \"" + only + "\" in " + config.path + " (servers: " + known + ")");
  }
  return out;
}

AppVersion Deployer::version_of(const DeployOptions& options) {
  if (!options.checkout_dir.empty())
    return checkout_version(options.checkout_dir, options.checkout_sha);
  if (!options.rev.empty() && options.allow_dirty) {
    throw UsageError("--sha deploys a commit as it was committed; --allow-dirty does not apply");
  }
  return resolve_version(runner_, config_.dir, options.allow_dirty, options.rev);
}

DeploySummary Deployer::deploy(const DeployOptions& options) {
  DeploySummary sum;
  auto timed = [&](const std::string& step, auto&& fn) {
    step_started(step);
    timed_step(clock_, sum.steps, step, fn);
  };

  auto servers = select_servers(config_, options.only_server);

  timed("version", [&] {
    sum.version = version_of(options);
    say_("deploying " + config_.service + " " + short_version(sum.version.id));
  });

  auto remotes = connect_all(servers, sum);
  // A registry that refuses the password stops us here, before the lock or a build.
  std::unique_ptr<Registry> registry;
  if (config_.registry.enabled()) {
    registry = std::make_unique<Registry>(config_, runner_);
    timed("login", [&] {
      try {
        registry->login();
      } catch (const RegistryUnreachable& e) {
        if (config_.registry.fallback != "ssh") throw;
        say_("warning: " + std::string(e.what()) + "; shipping over SSH (registry.fallback: ssh)");
        registry.reset();
      }
    });
  }
  DeployLock lock(*remotes[0], config_.service, clock_,
                  [&](const std::string& m) { say_("warning: " + m); });
  timed("lock", [&] {
    lock.acquire(
        sum.version.id,
        options.message.empty() ? "deploy " + short_version(sum.version.id) : options.message,
        options.lock_wait);
  });

  const std::string image = image_ref(config_, sum.version.id);
  timed("build", [&] {
    say_("building " + image);
    build_image(runner_, config_, sum.version, [&](const std::string& line) {
      if (options.verbose) say_("  | " + line);
    });
  });

  check_interrupted();
  sum.servers.resize(servers.size());
  timed("ship", [&] { ship_all(remotes, image, registry.get(), sum); });

  roll_out(
      remotes, servers, [&](size_t) { return image; }, sum);
  return sum;
}

std::vector<std::unique_ptr<RemoteExecutor>> Deployer::connect_all(
    const std::vector<ServerConfig>& servers, DeploySummary& sum) {
  // Connect to every server and check what would stop the switch before building, so an
  // unreachable server or a taken port stops us before anything is built or shipped.
  std::vector<std::unique_ptr<RemoteExecutor>> remotes;
  step_started("connect");
  timed_step(clock_, sum.steps, "connect", [&] {
    for (const auto& s : servers) {
      remotes.push_back(connect_(s));
      NginxSite(*remotes.back(), config_).check_listen_port();
      say_("connected to " + remotes.back()->name());
    }
  });
  return remotes;
}

void Deployer::roll_out(std::vector<std::unique_ptr<RemoteExecutor>>& remotes,
                        const std::vector<ServerConfig>& servers,
                        const std::function<std::string(size_t)>& image_for, DeploySummary& sum) {
  sum.servers.resize(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    check_interrupted();
    sum.servers[i].server = remotes[i]->name();
    Rollout rollout(*remotes[i], config_, clock_,
                    [&, i](const std::string& m) { say_(sum.servers[i].server + ": " + m); });
    rollout.on_step(on_step_);
    sum.servers[i].rollout = rollout.run(image_for(i), sum.version.id);
    sum.servers[i].url = service_url(config_, servers[i]);
  }
}

std::string Deployer::plan(const DeployOptions& options) {
  auto servers = select_servers(config_, options.only_server);
  AppVersion v = version_of(options);
  const std::string image = image_ref(config_, v.id);
  std::string out;
  out += "Plan: deploy " + config_.service + " " + short_version(v.id) +
         " (dry run: nothing is built, shipped or changed)\n\n";
  out += "on the build box:\n  $ " + shell_join(build_command(config_, v)) + "\n";
  const RegistryConfig& reg = config_.registry;
  if (reg.enabled()) {
    if (!reg.username.empty()) {
      out += "  $ " +
             shell_join({local_docker(), "--config", "$PRIVATE_DIR", "login", "--username",
                         reg.username, "--password-stdin", reg.server}) +
             "\n      # password on stdin, from " +
             (!registry_password_value(config_).empty() ? reg.password_secret
              : reg.password_command.empty()            ? reg.password_secret + " (not set!)"
                                             : std::string("registry.password_command")) +
             "; $PRIVATE_DIR is removed afterwards\n";
    }
    out += "  $ " + shell_join({local_docker(), "push", image}) +
           "   # only if a server lacks the image\n";
  }
  out += "\n";
  const std::string name = config_.service + "-" + v.id.substr(0, 12) + "-XXXX";
  const std::string env_path = env_file_path(config_.service, name);
  for (const auto& s : servers) {
    out += "on " + server_label(s) + " (one SSH connection):\n";
    out += "  $ docker image inspect " + shell_quote(image) + "   # skip shipping if present\n";
    if (reg.enabled()) {
      out += "  $ " + shell_join(remote_pull_argv(reg.username, reg.server, image)) +
             "\n      # login (password on stdin) and pull with a private docker config, "
             "removed afterwards" +
             (reg.fallback == "ssh" ? "; over SSH instead if the registry cannot be reached" : "") +
             "\n";
    } else {
      out += "  $ " + shell_join(server_layers_argv()) + "   # the layers the server has\n";
      out += "  $ docker load --quiet   # stdin: " + shell_join({local_docker(), "save", image}) +
             " from the build box" +
             (config_.ship.trim_layers ? ", layers the server has sent empty" : "") +
             (config_.ship.compression_level > 0
                  ? ", gzip level " + std::to_string(config_.ship.compression_level)
                  : "") +
             "\n";
    }
    out += "  write " + env_path + " (mode 600):\n" +
           indent(env_file_contents(config_, v.id, true), "      ");
    // Ports are chosen on the server at deploy time; the plan names them.
    out += "  write " + nginx_site_path(config_.service) +
           " only if it differs (first deploy, or a slot/listen/server_name change), then\n"
           "  nginx -t -q && nginx -s reload; the previous file is restored on any failure:\n" +
           indent(render_nginx_site(config_, "$SLOT_A", "$SLOT_B"), "      ");
    RunSpec spec{name, image, v.id, "$PORT", env_path};
    out += "  $ " + shell_join(docker_run_argv(config_, spec)) +
           "   # $PORT: the slot the live version does not use\n";
    out += "  $ " + shell_join(health_probe_argv(config_.healthcheck, "$PORT")) + "\n";
    out += "      # every " + format_duration(config_.healthcheck.interval) +
           " until 2xx, deadline " + format_duration(config_.healthcheck.deadline) +
           "; on failure the new container is removed\n";
    std::vector<std::string> gate = {"iptables", "-w", "-I"};
    for (const auto& w : gate_rule(config_.service, "$OLD_PORT")) gate.push_back(w);
    out += "  $ " + shell_join(gate) +
           "\n      # new connections to the old version are refused, so "
           "nginx sends them to $PORT; confirmed through nginx (X-Podlift-Upstream)\n";
    out += "  wait up to " + format_duration(config_.drain_timeout) +
           " for in-flight requests to the old version (ss ... sport = :$OLD_PORT)\n";
    out += "  $ docker stop --time " +
           std::to_string(std::max<long long>(1, config_.stop_timeout.count() / 1000)) +
           " <the old version's container>   # kept for rollback; then the iptables rule is "
           "deleted\n";
    out += "  prune: keep the newest " + std::to_string(config_.retain) +
           " versions' containers and images\n\n";
  }
  return out;
}

std::string format_summary(const DeploySummary& sum) {
  std::string out =
      "\n" + sum.verb + " " + short_version(sum.version.id) + " (" + sum.version.id + ")\n";
  std::chrono::milliseconds total{0};
  for (const auto& st : sum.steps) total += st.took;
  for (const auto& s : sum.servers) {
    out += "  " + s.server + "  " + s.url + "  container " + s.rollout.container + " on port " +
           std::to_string(s.rollout.port);
    if (!s.rollout.previous_version.empty()) {
      out += " (was " + short_version(s.rollout.previous_version) + ")";
    }
    out += "\n";
    if (s.already_present) {
      out += "    image already there: nothing shipped\n";
    } else if (s.shipped_by == "registry") {
      out += "    image pulled from the registry\n";
    } else if (s.shipped_by == "ssh") {
      out += "    shipped " + format_bytes(s.shipped_bytes) + " over SSH";
      if (s.fell_back) {
        out += " (the whole image: the server refused it without its lower layers)";
      } else if (s.layers > 0) {
        out += " (" + std::to_string(s.layers_skipped) + " of " + std::to_string(s.layers) +
               " layers were already there)";
      }
      out += "\n";
    }
  }
  out += "  steps:";
  for (const auto& st : sum.steps)
    out += " " + st.step + " " + format_seconds(st.took.count()) + ",";
  for (const auto& s : sum.servers) {
    for (const auto& st : s.rollout.steps) {
      out += " " + st.step + " " + format_seconds(st.took.count()) + ",";
      total += st.took;
    }
  }
  out.pop_back();
  out += "\n  total: " + format_seconds(total.count()) + "\n";
  return out;
}

}  // namespace podlift
