// Deployer::rollback and the choice of its target.
#include <set>

#include "core/interrupt.hpp"
#include "deployer/deploy.hpp"
#include "deployer/lock.hpp"
#include "deployer/state.hpp"

namespace podlift {

std::vector<ContainerInfo> rollback_candidates(const std::vector<ContainerInfo>& containers,
                                               const std::string& live_version) {
  std::vector<ContainerInfo> out;
  std::set<std::string> seen{live_version};
  for (const auto& c : containers) {  // newest first
    if (c.running() || c.version_id.empty() || seen.count(c.version_id)) continue;
    seen.insert(c.version_id);
    out.push_back(c);
  }
  return out;
}

ContainerInfo pick_rollback_target(const std::vector<ContainerInfo>& candidates,
                                   const std::string& wanted) {
  auto list = [&] {
    std::string text;
    for (const auto& c : candidates)
      text += (text.empty() ? "" : ", ") + short_version(c.version_id);
    return text.empty() ? std::string("none") : text;
  };
  if (wanted.empty()) {
    if (candidates.empty()) {
      throw Error("nothing to roll back to: no retained version besides the live one");
    }
    return candidates.front();
  }
  std::vector<const ContainerInfo*> matches;
  for (const auto& c : candidates) {
    if (c.version_id == wanted) return c;
    if (wanted.size() >= 4 && c.version_id.rfind(wanted, 0) == 0) matches.push_back(&c);
  }
  if (matches.size() == 1) return *matches.front();
  throw Error(std::string(matches.empty() ? "no retained version \"" : "ambiguous version \"") +
                  wanted + "\" (retained: " + list() + ")",
              ExitCode::kUsage);
}

DeploySummary Deployer::rollback(const std::string& wanted, const DeployOptions& options) {
  DeploySummary sum;
  sum.verb = "rolled back to";
  auto servers = select_servers(config_, options.only_server);
  auto remotes = connect_all(servers, sum);
  DeployLock lock(*remotes[0], config_.service, clock_,
                  [&](const std::string& m) { say_("warning: " + m); });

  // The target is chosen on the first server; every server must have retained it.
  std::vector<std::string> images(servers.size());
  timed_step(clock_, sum.steps, "lock", [&] {
    lock.acquire("", options.message.empty() ? "rollback" : options.message, options.lock_wait);
  });
  {
    auto containers = list_containers(*remotes[0], config_.service);
    auto live = read_live(*remotes[0], config_.service);
    auto target =
        pick_rollback_target(rollback_candidates(containers, live ? live->version_id : ""), wanted);
    sum.version.id = target.version_id;
    sum.version.sha = target.version_id.substr(0, 40);
    say_("rolling back to " + short_version(target.version_id));
  }
  for (size_t i = 0; i < servers.size(); ++i) {
    std::string image;
    for (const auto& c : list_containers(*remotes[i], config_.service)) {
      if (c.version_id == sum.version.id) image = c.image;
    }
    RemoteCommand has;
    has.argv = {"docker", "image", "inspect", "--format", "{{.Id}}", image};
    auto r = image.empty() ? Result<RemoteResult>::failure("") : remotes[i]->run(has);
    if (!r || r->exit_status != 0) {
      throw Error(remotes[i]->name() + " has not retained version " +
                  short_version(sum.version.id) + "; nothing was changed");
    }
    images[i] = image;
  }
  check_interrupted();
  roll_out(
      remotes, servers, [&](size_t i) { return images[i]; }, sum);
  return sum;
}

}  // namespace podlift
