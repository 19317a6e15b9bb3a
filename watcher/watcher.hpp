// The watcher: turns a push to a branch into a deploy. Its loop is poll_once(), which a thin
// thread (run_until) calls whenever something is due; tests call it directly with a fake clock,
// git source and deploy runner and look at what it decided.
//
// Decisions, per step:
//  - a poll is due when poll_interval has passed since the last one or a trigger is pending
//    (webhook, resume, reload); triggers are coalesced into one: "look at the branch now";
//  - the tip is read from the remote (no fetch); a missing branch deploys nothing and is logged
//    as an error once per disappearance;
//  - a tip equal to the one last deployed does nothing (so a manual rollback or `deploy --sha`
//    stands until the next push);
//  - a new tip is fetched, checked out and deployed; what is deployed is the tip the fetch got,
//    never a SHA a webhook claimed. While a deploy runs, triggers only set the one pending flag,
//    so a burst of pushes gives at most one more deploy, of the newest commit;
//  - a commit whose deploy failed is retried after poll_interval x attempts, at most
//    max_attempts times in all; a newer commit supersedes it at once. A deploy that found the
//    deploy lock taken (a person or CLI deploy) is not a failed attempt: it is tried next poll.
//  - while paused (`podlift watch pause`, read from the state file each poll) nothing deploys.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "watcher/git_source.hpp"
#include "watcher/state.hpp"

namespace podlift::watcher {

// The libgit2 version podlift was linked against, "major.minor.rev" (used by `podlift version`).
const char* libgit2_version();

struct DeployRequest {
  std::string checkout_dir;  // a clean checkout of sha
  std::string sha;
  std::string trigger;
};

struct DeployOutcome {
  enum class Kind { kSuccess, kFailure, kLocked, kInterrupted };
  Kind kind = Kind::kFailure;
  std::string error;
  std::vector<StepTiming> steps;
  std::map<std::string, std::string> live;  // server -> version after a success
};

// Runs the deploy pipeline on a checkout. One real implementation (pipeline.hpp) and a fake.
class DeployRunner {
 public:
  virtual ~DeployRunner() = default;
  // Never throws: every failure is in the outcome. on_step is told each step as it starts.
  virtual DeployOutcome deploy(const DeployRequest& request,
                               const std::function<void(const std::string&)>& on_step) = 0;
};

// Told about every finished automatic deploy (the notification URL). Must not throw.
class DeployListener {
 public:
  virtual ~DeployListener() = default;
  virtual void finished(const DeployRecord& record) = 0;
};

struct WatcherSettings {
  std::string service;
  std::string branch;
  std::chrono::milliseconds poll_interval{30000};
  int max_attempts = 3;
};

// Counters since the watcher started, for /metrics.
struct WatcherMetrics {
  long long polls = 0;
  long long poll_failures = 0;
  long long deploys_success = 0;
  long long deploys_failure = 0;
  long long deploys_locked = 0;
  long long deploys_interrupted = 0;
  long long last_deploy_ms = 0;  // unix ms of the last finished deploy
  // Durations of finished deploys, counted into these upper bounds (seconds); +Inf implied.
  static constexpr double kBuckets[] = {5, 10, 20, 30, 60, 120, 300, 600, 1800};
  long long bucket_counts[std::size(kBuckets)] = {};
  long long duration_count = 0;
  double duration_sum_s = 0;
};

struct WatcherSnapshot {
  WatcherSettings settings;
  std::string source;  // url (no credentials) and branch
  WatcherMetrics metrics;
  bool trigger_pending = false;
  std::optional<DeployRecord> running;  // the deploy in progress, with its current step
};

class Watcher {
 public:
  enum class Did {
    kIdle,           // nothing due
    kPollFailed,     // the remote did not answer (error in last_error())
    kBranchMissing,  // no such branch on the remote
    kUpToDate,       // the tip is what was deployed
    kPaused,         // a new tip waits for `podlift watch resume`
    kGaveUp,         // the tip failed max_attempts times
    kWaitingRetry,   // the tip failed; its retry is not due yet
    kDeployed,
    kDeployFailed,
    kDeployLocked,
    kDeployInterrupted,
  };

  Watcher(WatcherSettings settings, GitSource& git, DeployRunner& runner, StateStore& store,
          Clock& clock, DeployListener* listener = nullptr);

  // One step of the loop (see the header comment). Runs a deploy to its end when one is due.
  Did poll_once();
  // Thread-safe: look at the branch at the next step. `reason` names the trigger in history.
  void trigger(const std::string& reason);
  // Thread-safe: a copy of what the status page and /metrics show.
  WatcherSnapshot snapshot() const;
  const std::string& last_error() const { return last_error_; }
  // When the loop last showed progress: a step began, or a deploy step began (for the watchdog).
  Clock::time_point last_activity() const {
    return Clock::time_point(Clock::time_point::duration(activity_.load()));
  }
  // For a reload (SIGHUP): new settings and collaborators, taken between steps.
  void reconfigure(WatcherSettings settings, GitSource& git, DeployRunner& runner,
                   DeployListener* listener);

  // The thin loop around poll_once(): steps until `stop` is set, sleeping (on the real clock,
  // woken early by trigger()) until the next poll is due. `between` runs before each step (for
  // config reloads and watchdog pings).
  void run_until(const std::atomic<bool>& stop, const std::function<void()>& between = {});

 private:
  Did deploy(const std::string& reason, const WatchState& state);
  long long wall_ms() const;

  WatcherSettings settings_;
  GitSource* git_;
  DeployRunner* runner_;
  StateStore& store_;
  Clock& clock_;
  DeployListener* listener_;
  std::string last_error_;
  std::optional<Clock::time_point> next_poll_;  // nullopt: poll at the next step

  mutable std::mutex mu_;  // guards what snapshot() reads, and the trigger
  std::condition_variable wake_;
  std::string pending_;  // the pending trigger's reason ("" : none)
  WatcherMetrics metrics_;
  std::optional<DeployRecord> running_;
  std::atomic<Clock::time_point::duration::rep> activity_{0};
};

const char* to_string(Watcher::Did did);

}  // namespace podlift::watcher
