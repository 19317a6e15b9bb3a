// A whole deploy: resolve the version from git, connect to every server, build once, ship to
// each server, then roll out per server. Nothing changes on any server until every server is
// reachable and the image is built.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/process.hpp"
#include "deployer/inventory.hpp"
#include "deployer/remote.hpp"
#include "deployer/rollout.hpp"
#include "deployer/version.hpp"

namespace podlift {

class LocalImage;
class Registry;

using Connector = std::function<std::unique_ptr<RemoteExecutor>(const ServerConfig&)>;

// The real connector: libssh with config.ssh settings and the server's own user/port/key.
Connector ssh_connector(const Config& config);

// The servers a command acts on: all, or those whose host equals `only` (error if none match).
std::vector<ServerConfig> select_servers(const Config& config, const std::string& only);

struct DeployOptions {
  bool allow_dirty = false;
  bool verbose = false;               // pass build output through
  std::string only_server;            // empty: all
  std::chrono::seconds lock_wait{0};  // how long to wait for another deploy's lock
  std::string message;                // recorded in the deploy lock
  std::string rev;                    // deploy --sha: this commit instead of HEAD
  // The watcher's deploy: a clean checkout of `checkout_sha` at `checkout_dir` is built instead
  // of the repository holding podlift.yml.
  std::string checkout_dir;
  std::string checkout_sha;
};

// Versions a rollback can go to: those of retained (stopped) containers, newest first, one entry
// per version, without the live version.
std::vector<ContainerInfo> rollback_candidates(const std::vector<ContainerInfo>& containers,
                                               const std::string& live_version);
// `wanted` (a full version id or a unique prefix of at least 4 characters) among the candidates,
// or the newest candidate when `wanted` is empty. Throws Error listing the candidates otherwise.
ContainerInfo pick_rollback_target(const std::vector<ContainerInfo>& candidates,
                                   const std::string& wanted);

struct ServerSummary {
  std::string server;  // user@host:port
  std::string url;
  RolloutResult rollout;
  std::string shipped_by;           // "ssh" or "registry"
  std::uint64_t shipped_bytes = 0;  // SSH mode: bytes sent on the channel
  bool already_present = false;
  size_t layers = 0;          // SSH mode: layers of the image,
  size_t layers_skipped = 0;  // of which the server had these
  bool fell_back = false;     // the trimmed stream was refused; the whole image went
};

struct DeploySummary {
  std::string verb = "deployed";  // or "rolled back to"
  AppVersion version;
  std::vector<StepTime> steps;  // build-box steps: version, connect, build, ship
  std::vector<ServerSummary> servers;
};

class Deployer {
 public:
  using Say = std::function<void(const std::string&)>;
  // Told the name of each step as it starts ("build", "ship", "health", ...), for status pages.
  using StepObserver = std::function<void(const std::string& step)>;
  Deployer(const Config& config, ProcessRunner& runner, Connector connect, Clock& clock, Say say)
      : config_(config),
        runner_(runner),
        connect_(std::move(connect)),
        clock_(clock),
        say_(std::move(say)) {}

  DeploySummary deploy(const DeployOptions& options);
  // Switches every server back to `wanted` (see pick_rollback_target) through the same
  // health-gated rollout, from the image each server retained: no build, no registry.
  DeploySummary rollback(const std::string& wanted, const DeployOptions& options);
  // The plan for --dry-run: what deploy would run, per server, secrets redacted. Reads git only.
  std::string plan(const DeployOptions& options);
  void on_step(StepObserver observer) { on_step_ = std::move(observer); }

 private:
  std::vector<std::unique_ptr<RemoteExecutor>> connect_all(const std::vector<ServerConfig>& servers,
                                                           DeploySummary& sum);
  // Gets `image` onto every server: through the registry (registry mode, with its fallback to
  // SSH when configured) or over SSH. `registry` is null in SSH mode. (deploy_ship.cpp)
  void ship_all(std::vector<std::unique_ptr<RemoteExecutor>>& remotes, const std::string& image,
                Registry* registry, DeploySummary& sum);
  void ship_over_ssh(RemoteExecutor& remote, LocalImage& image, ServerSummary& out);
  void roll_out(std::vector<std::unique_ptr<RemoteExecutor>>& remotes,
                const std::vector<ServerConfig>& servers,
                const std::function<std::string(size_t)>& image_for, DeploySummary& sum);
  const Config& config_;
  ProcessRunner& runner_;
  Connector connect_;
  Clock& clock_;
  Say say_;
  StepObserver on_step_;

  AppVersion version_of(const DeployOptions& options);
  void step_started(const std::string& step) {
    if (on_step_) on_step_(step);
  }
};

std::string format_summary(const DeploySummary& summary);
std::string server_label(const ServerConfig& s);
std::string service_url(const Config& config, const ServerConfig& s);

}  // namespace podlift
