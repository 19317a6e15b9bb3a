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
#include "deployer/remote.hpp"
#include "deployer/rollout.hpp"
#include "deployer/version.hpp"

namespace podlift {

using Connector = std::function<std::unique_ptr<RemoteExecutor>(const ServerConfig&)>;

// The real connector: libssh with config.ssh settings and the server's own user/port/key.
Connector ssh_connector(const Config& config);

// The servers a command acts on: all, or those whose host equals `only` (error if none match).
std::vector<ServerConfig> select_servers(const Config& config, const std::string& only);

struct DeployOptions {
  bool allow_dirty = false;
  bool verbose = false;     // pass build output through
  std::string only_server;  // empty: all
};

struct ServerSummary {
  std::string server;  // user@host:port
  std::string url;
  RolloutResult rollout;
  std::uint64_t shipped_bytes = 0;
  bool already_present = false;
};

struct DeploySummary {
  AppVersion version;
  std::vector<StepTime> steps;  // build-box steps: version, connect, build, ship
  std::vector<ServerSummary> servers;
};

class Deployer {
 public:
  using Say = std::function<void(const std::string&)>;
  Deployer(const Config& config, ProcessRunner& runner, Connector connect, Clock& clock, Say say)
      : config_(config),
        runner_(runner),
        connect_(std::move(connect)),
        clock_(clock),
        say_(std::move(say)) {}

  DeploySummary deploy(const DeployOptions& options);
  // The plan for --dry-run: what deploy would run, per server, secrets redacted. Reads git only.
  std::string plan(const DeployOptions& options);

 private:
  const Config& config_;
  ProcessRunner& runner_;
  Connector connect_;
  Clock& clock_;
  Say say_;
};

std::string format_summary(const DeploySummary& summary);
std::string server_label(const ServerConfig& s);
std::string service_url(const Config& config, const ServerConfig& s);

}  // namespace podlift
