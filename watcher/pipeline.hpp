// The real DeployRunner: podlift's deploy pipeline (deployer/deploy.hpp) on a checkout, with the
// deploy lock waited for up to watch.lock_wait. A lock still held then is kLocked, an interrupt
// (SIGTERM) kInterrupted; every other Error is kFailure with its message.
#pragma once

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/process.hpp"
#include "watcher/watcher.hpp"

namespace podlift::watcher {

class PipelineRunner : public DeployRunner {
 public:
  PipelineRunner(const Config& config, ProcessRunner& runner, Clock& clock)
      : config_(config), runner_(runner), clock_(clock) {}
  DeployOutcome deploy(const DeployRequest& request,
                       const std::function<void(const std::string&)>& on_step) override;

 private:
  const Config& config_;
  ProcessRunner& runner_;
  Clock& clock_;
};

}  // namespace podlift::watcher
