// The rollout of one version on one server (see nginx.hpp for the two-slot design): start the new
// container on the free slot beside the old, health-gate it, refuse new connections to the old
// slot so nginx routes everything to the new one and confirm that through nginx, record it as
// live, let the old one's in-flight requests drain, stop it (kept for rollback) and prune beyond
// `retain`. Runs per server, so a multi-server deploy is one Rollout per host.
//
// Failure contract: any failure up to and including the confirmation through nginx removes the
// new container (with its env file and never-served image), lets the old slot take connections
// again and puts the previous nginx site back if this rollout changed it. An Error is thrown
// whose message says what was seen (last health status, nginx's error text). Failures after
// that (drain, stop, prune) are reported as warnings; the new version stays live.
#pragma once

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "deployer/remote.hpp"

namespace podlift {

struct StepTime {
  std::string step;
  std::chrono::milliseconds took{0};
};

// Runs fn and records how long it took as `step`.
template <typename Fn>
void timed_step(Clock& clock, std::vector<StepTime>& steps, const std::string& step, Fn&& fn) {
  auto t0 = clock.now();
  fn();
  steps.push_back({step, std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - t0)});
}

struct RolloutResult {
  std::string container;
  int port = 0;
  std::string previous_version;  // empty if nothing served before
  std::vector<StepTime> steps;
};

// The caller checks beforehand that nginx can listen (NginxSwitch::check_listen_port), so a
// taken port stops a deploy before anything is built.
class Rollout {
 public:
  using Say = std::function<void(const std::string&)>;
  Rollout(RemoteExecutor& remote, const Config& config, Clock& clock, Say say)
      : remote_(remote), config_(config), clock_(clock), say_(std::move(say)) {}

  RolloutResult run(const std::string& image, const std::string& version_id);
  // Told each step's name as it starts.
  void on_step(std::function<void(const std::string&)> observer) { on_step_ = std::move(observer); }

 private:
  int pick_port(const std::set<int>& avoid);
  void stop_container(const std::string& container);
  RemoteExecutor& remote_;
  const Config& config_;
  Clock& clock_;
  Say say_;
  std::function<void(const std::string&)> on_step_;
};

// Ports in use on the server, from `ss -Htln` output.
std::vector<int> parse_listening_ports(const std::string& ss_output);

}  // namespace podlift
