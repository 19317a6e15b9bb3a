#include "watcher/pipeline.hpp"

#include <spdlog/spdlog.h>

#include "deployer/deploy.hpp"

namespace podlift::watcher {

DeployOutcome PipelineRunner::deploy(const DeployRequest& request,
                                     const std::function<void(const std::string&)>& on_step) {
  DeployOutcome out;
  Deployer deployer(config_, runner_, ssh_connector(config_), clock_,
                    [](const std::string& m) { spdlog::info("{}", m); });
  deployer.on_step(on_step);
  DeployOptions opts;
  opts.checkout_dir = request.checkout_dir;
  opts.checkout_sha = request.sha;
  opts.lock_wait = std::chrono::duration_cast<std::chrono::seconds>(config_.watch.lock_wait);
  opts.message = "podlift watch (" + request.trigger + ")";
  try {
    DeploySummary sum = deployer.deploy(opts);
    for (const auto& st : sum.steps) out.steps.push_back({st.step, st.took.count()});
    const bool many = sum.servers.size() > 1;
    for (const auto& s : sum.servers) {
      for (const auto& st : s.rollout.steps) {
        out.steps.push_back({many ? s.server + " " + st.step : st.step, st.took.count()});
      }
      out.live[s.server] = sum.version.id;
    }
    out.kind = DeployOutcome::Kind::kSuccess;
  } catch (const LockedError& e) {
    out.kind = DeployOutcome::Kind::kLocked;
    out.error = e.what();
  } catch (const Error& e) {
    out.kind = e.code() == ExitCode::kInterrupted ? DeployOutcome::Kind::kInterrupted
                                                  : DeployOutcome::Kind::kFailure;
    out.error = e.what();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace podlift::watcher
