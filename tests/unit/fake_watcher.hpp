// Fakes for the watcher's collaborators: a git remote held in memory and a deploy runner that
// records what it was asked to deploy.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "watcher/watcher.hpp"

namespace podlift::watcher {

class FakeGitSource : public GitSource {
 public:
  std::optional<std::string> branch_tip;  // nullopt: the branch does not exist
  std::string mirror_tip;                 // what the last fetch got
  bool next_fetch_forced = false;
  std::string fail_tip;  // non-empty: tip() fails with this message
  int tips = 0, fetches = 0, checkouts = 0, removed = 0;

  Result<std::optional<std::string>> tip() override {
    ++tips;
    if (!fail_tip.empty()) return Result<std::optional<std::string>>::failure(fail_tip);
    return branch_tip;
  }
  Result<FetchResult> fetch() override {
    ++fetches;
    FetchResult r;
    r.previous = mirror_tip;
    r.sha = branch_tip.value_or("");
    r.forced = next_fetch_forced;
    next_fetch_forced = false;
    if (!r.sha.empty()) mirror_tip = r.sha;
    return r;
  }
  Result<std::string> checkout(const std::string& sha) override {
    ++checkouts;
    return "/checkouts/" + sha;
  }
  void remove_checkout(const std::string&) override { ++removed; }
  std::string describe() const override { return "file:///fake main"; }
};

class FakeDeployRunner : public DeployRunner {
 public:
  std::vector<DeployRequest> requests;
  // What the next deploys answer (consumed front first); success when empty.
  std::vector<DeployOutcome::Kind> outcomes;
  // Runs during a deploy, e.g. to push more commits or post webhooks meanwhile.
  std::function<void()> during;

  DeployOutcome deploy(const DeployRequest& request,
                       const std::function<void(const std::string&)>& on_step) override {
    requests.push_back(request);
    on_step("build");
    if (during) during();
    on_step("switch");
    DeployOutcome out;
    out.kind = DeployOutcome::Kind::kSuccess;
    if (!outcomes.empty()) {
      out.kind = outcomes.front();
      outcomes.erase(outcomes.begin());
    }
    if (out.kind != DeployOutcome::Kind::kSuccess) out.error = "it went wrong";
    out.steps = {{"build", 10}, {"switch", 5}};
    if (out.kind == DeployOutcome::Kind::kSuccess) out.live["root@server:22"] = request.sha;
    return out;
  }
};

}  // namespace podlift::watcher
