// `podlift watch`: wires the watcher loop (watcher/), its git source and deploy pipeline, the HTTP
// server (webhooks/), systemd notifications and signals into one long-running process.
//
// Signals: SIGTERM/SIGINT stop the loop; a deploy under way is abandoned the safe way (the
// deployer removes the new container and releases the deploy lock) and recorded as interrupted.
// SIGHUP reloads podlift.yml between steps; a config with errors is refused and the old one kept.
#include "cli/watch_service.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/interrupt.hpp"
#include "core/redact.hpp"
#include "core/text.hpp"
#include "watcher/pipeline.hpp"
#include "watcher/systemd.hpp"
#include "webhooks/notify.hpp"
#include "webhooks/server.hpp"

namespace podlift::cli {

namespace {

namespace fs = std::filesystem;

bool is_url(const std::string& repo) {
  return repo.find("://") != std::string::npos ||
         // scp-like ssh: git@host:path (a ':' before any '/')
         (repo.find(':') != std::string::npos && repo.find(':') < repo.find('/') &&
          repo[0] != '/' && repo[0] != '.');
}

// Everything built from one version of the config; replaced whole on reload.
struct Generation {
  std::unique_ptr<Config> config;
  std::unique_ptr<watcher::ChildGitSource> git;
  std::unique_ptr<watcher::PipelineRunner> pipeline;
  std::unique_ptr<webhooks::HttpNotifier> notifier;
  watcher::WatcherSettings settings;
};

Generation build(std::unique_ptr<Config> config, ProcessRunner& runner, Clock& clock) {
  Generation g;
  g.config = std::move(config);
  const Config& c = *g.config;
  for (const auto& [name, value] : c.secrets) register_secret(value);
  watcher::GitSourceSettings gs;
  gs.url = watch_repository(c, runner);
  gs.branch = c.watch.branch;
  gs.auth.ssh_key = c.watch.ssh_key;
  gs.auth.known_hosts = c.ssh.known_hosts;
  gs.work_dir = watch_state_dir(c);
  gs.ls_timeout = c.watch.git_timeout;
  gs.fetch_timeout = c.watch.fetch_timeout;
  gs.helper = {"/proc/self/exe", "__git"};
  g.git = std::make_unique<watcher::ChildGitSource>(gs, runner);
  g.pipeline = std::make_unique<watcher::PipelineRunner>(c, runner, clock);
  if (!c.watch.notify_url.empty()) {
    g.notifier =
        std::make_unique<webhooks::HttpNotifier>(c.watch.notify_url, c.service, c.watch.branch);
  }
  g.settings = {c.service, c.watch.branch, c.watch.poll_interval, c.watch.max_attempts};
  return g;
}

// Pings systemd's watchdog while the loop shows progress. A deploy step may legitimately run
// long (a big build), so progress within the last hour counts as alive while one runs.
class Watchdog {
 public:
  Watchdog(watcher::Watcher& w, Clock& clock) : w_(w), clock_(clock) {
    auto every = watcher::watchdog_interval();
    if (!every) return;
    thread_ = std::thread([this, every] {
      while (!stop_) {
        auto idle = clock_.now() - w_.last_activity();
        auto limit =
            w_.snapshot().running ? std::chrono::hours(1) : *every * 4 + std::chrono::minutes(1);
        if (idle < limit) watcher::notify_watchdog();
        for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(*every / 10);
      }
    });
  }
  ~Watchdog() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  watcher::Watcher& w_;
  Clock& clock_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

std::string watch_repository(const Config& config, ProcessRunner& runner) {
  const std::string& repo = config.watch.repo;
  if (repo.empty()) {
    auto top = runner.run({"git", "-C", config.dir, "rev-parse", "--show-toplevel"});
    if (!top || top->exit_code != 0) {
      throw ConfigError(config.path +
                        ": watch.repo is not set and the config is not inside a git repository; "
                        "set watch.repo to the repository to watch");
    }
    return trim_right(top->out);
  }
  if (is_url(repo) || repo[0] == '/') return repo;
  return (fs::path(config.dir) / expand_home(repo)).lexically_normal().string();
}

std::string watch_state_dir(const Config& config) {
  return config.watch.state_dir + "/" + config.service;
}

int run_watch_service(const std::string& config_path, const Config& initial, bool once) {
  SystemProcessRunner runner;
  SystemClock clock;
  Generation gen = build(std::make_unique<Config>(initial), runner, clock);
  const Config& c = *gen.config;

  watcher::StateStore store(watch_state_dir(c));
  if (int n = store.close_abandoned(
          std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall().time_since_epoch())
              .count())) {
    spdlog::warn("{} deploy(s) left running by a watcher that died are recorded as interrupted", n);
  }
  watcher::Watcher w(gen.settings, *gen.git, *gen.pipeline, store, clock, gen.notifier.get());
  if (once) {
    auto did = w.poll_once();
    spdlog::info("{}", watcher::to_string(did));
    bool failed = did == watcher::Watcher::Did::kPollFailed ||
                  did == watcher::Watcher::Did::kDeployFailed ||
                  did == watcher::Watcher::Did::kDeployInterrupted;
    return failed ? static_cast<int>(ExitCode::kFailure) : 0;
  }

  std::unique_ptr<webhooks::Server> server;
  const std::string secret = webhook_secret_value(c);
  if (c.watch.listen != "off") {
    if (secret.empty()) {
      spdlog::warn("{} is not set: webhooks are refused (401) and the watcher only polls",
                   c.watch.webhook_secret);
    }
    webhooks::ServerSettings ss;
    ss.listen = c.watch.listen;
    ss.secret = secret;
    ss.branch = c.watch.branch;
    ss.service = c.service;
    server = std::make_unique<webhooks::Server>(w, store, ss);
    server->start();
  }
  install_reload_handler();
  spdlog::info("watching {} every {} for {}", gen.git->describe(),
               format_duration(c.watch.poll_interval), c.service);
  watcher::notify_ready("watching " + gen.git->describe());
  Watchdog watchdog(w, clock);

  std::atomic<bool> stop{false};
  std::vector<Generation> retired;  // kept alive: the HTTP threads may still read them
  w.run_until(stop, [&] {
    if (interrupted()) {
      stop = true;
      return;
    }
    if (!take_reload_request()) return;
    spdlog::info("SIGHUP: reloading {}", config_path);
    try {
      auto next = build(std::make_unique<Config>(load_config(config_path)), runner, clock);
      const Config& n = *next.config;
      if (n.service != gen.config->service || n.watch.state_dir != gen.config->watch.state_dir ||
          n.watch.listen != gen.config->watch.listen) {
        spdlog::warn("service, watch.state_dir and watch.listen change only on a restart");
      }
      w.reconfigure(next.settings, *next.git, *next.pipeline, next.notifier.get());
      if (server) server->reconfigure(webhook_secret_value(n), n.watch.branch);
      retired.push_back(std::move(gen));
      gen = std::move(next);
      spdlog::info("reloaded: watching {}", gen.git->describe());
      watcher::notify_status("watching " + gen.git->describe());
    } catch (const Error& e) {
      spdlog::error("reload refused, keeping the running configuration: {}", e.what());
    }
  });
  watcher::notify_stopping();
  spdlog::info("stopping");
  if (server) server->stop();
  return 0;
}

}  // namespace podlift::cli
