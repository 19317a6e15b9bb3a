#include "watcher/watcher.hpp"

#include <git2.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <iterator>

namespace podlift::watcher {

const char* libgit2_version() {
  static const std::string v = [] {
    int major = 0, minor = 0, rev = 0;
    git_libgit2_version(&major, &minor, &rev);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(rev);
  }();
  return v.c_str();
}

const char* to_string(Watcher::Did did) {
  switch (did) {
    case Watcher::Did::kIdle:
      return "idle";
    case Watcher::Did::kPollFailed:
      return "poll failed";
    case Watcher::Did::kBranchMissing:
      return "branch missing";
    case Watcher::Did::kUpToDate:
      return "up to date";
    case Watcher::Did::kPaused:
      return "paused";
    case Watcher::Did::kGaveUp:
      return "gave up";
    case Watcher::Did::kWaitingRetry:
      return "waiting to retry";
    case Watcher::Did::kDeployed:
      return "deployed";
    case Watcher::Did::kDeployFailed:
      return "deploy failed";
    case Watcher::Did::kDeployLocked:
      return "deploy lock taken";
    case Watcher::Did::kDeployInterrupted:
      return "deploy interrupted";
  }
  return "?";
}

namespace {
std::string short_sha(const std::string& sha) {
  return sha.substr(0, 12);
}
}  // namespace

Watcher::Watcher(WatcherSettings settings, GitSource& git, DeployRunner& runner, StateStore& store,
                 Clock& clock, DeployListener* listener)
    : settings_(std::move(settings)),
      git_(&git),
      runner_(&runner),
      store_(store),
      clock_(clock),
      listener_(listener) {}

long long Watcher::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wall().time_since_epoch())
      .count();
}

void Watcher::trigger(const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    if (pending_.empty()) pending_ = reason;  // coalesced: the first reason names the look
  }
  wake_.notify_all();
}

WatcherSnapshot Watcher::snapshot() const {
  std::lock_guard lock(mu_);
  WatcherSnapshot s;
  s.settings = settings_;
  s.source = git_->describe();
  s.metrics = metrics_;
  s.trigger_pending = !pending_.empty();
  s.running = running_;
  return s;
}

void Watcher::reconfigure(WatcherSettings settings, GitSource& git, DeployRunner& runner,
                          DeployListener* listener) {
  std::lock_guard lock(mu_);
  settings_ = std::move(settings);
  git_ = &git;
  runner_ = &runner;
  listener_ = listener;
  next_poll_.reset();
}

Watcher::Did Watcher::poll_once() {
  std::string reason;
  {
    std::lock_guard lock(mu_);
    reason.swap(pending_);
  }
  const auto now = clock_.now();
  activity_ = now.time_since_epoch().count();
  if (reason.empty() && next_poll_ && now < *next_poll_) return Did::kIdle;
  if (reason.empty()) reason = "poll";
  next_poll_ = now + settings_.poll_interval;

  {
    std::lock_guard lock(mu_);
    ++metrics_.polls;
  }
  auto tip = git_->tip();
  const long long polled_at = wall_ms();
  if (!tip) {
    last_error_ = tip.error();
    {
      std::lock_guard lock(mu_);
      ++metrics_.poll_failures;
    }
    spdlog::error("poll of {} failed: {}", git_->describe(), last_error_);
    store_.update([&](WatchState& s) {
      s.last_poll_ms = polled_at;
      s.last_poll_error = last_error_;
    });
    return Did::kPollFailed;
  }
  last_error_.clear();

  WatchState state;
  store_.update([&](WatchState& s) {
    if (!tip->has_value() && !s.branch_missing) {
      spdlog::error(
          "branch {} does not exist on {} (deleted, or never pushed): nothing is deployed until "
          "it is pushed (the servers keep serving {})",
          settings_.branch, git_->describe(),
          s.deployed_tip.empty() ? "what they serve" : short_sha(s.deployed_tip));
    }
    s.branch_missing = !tip->has_value();
    if (tip->has_value()) s.last_seen = **tip;
    s.last_poll_ms = polled_at;
    s.last_poll_error.clear();
    state = s;
  });
  if (!tip->has_value()) return Did::kBranchMissing;
  const std::string& sha = **tip;
  if (sha == state.deployed_tip) return Did::kUpToDate;
  if (state.paused) {
    spdlog::debug("{} waits: the watcher is paused by {}", short_sha(sha), state.paused_by);
    return Did::kPaused;
  }
  if (sha == state.failed_sha) {
    if (state.failed_attempts >= settings_.max_attempts) return Did::kGaveUp;
    if (polled_at < state.retry_after_ms) return Did::kWaitingRetry;
    if (reason == "poll") reason = "retry";
  }
  return deploy(reason, state);
}

Watcher::Did Watcher::deploy(const std::string& reason, const WatchState& state) {
  DeployRecord rec;
  rec.trigger = reason;
  rec.started_ms = wall_ms();
  rec.result = "running";
  rec.step = "fetch";
  rec.pid = ::getpid();
  // The running record, with its current step, for the status page and `watch status`.
  auto publish = [&] {
    {
      std::lock_guard lock(mu_);
      running_ = rec;
    }
    activity_ = clock_.now().time_since_epoch().count();
    if (rec.id) store_.record(rec);
  };
  auto started = clock_.now();
  auto timed = [&](const std::string& step, auto&& fn) {
    rec.step = step;
    publish();
    auto t0 = clock_.now();
    auto r = fn();
    rec.steps.push_back(
        {step, std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - t0).count()});
    return r;
  };
  rec.id = store_.record(rec);
  publish();

  DeployOutcome out;
  auto fetched = timed("fetch", [&] { return git_->fetch(); });
  std::string dir;
  if (!fetched) {
    out.error = fetched.error();
  } else if (fetched->sha.empty()) {
    out.error = "branch " + settings_.branch + " disappeared from the remote before the fetch";
  } else {
    rec.sha = fetched->sha;
    rec.previous = fetched->previous;
    rec.forced = fetched->forced;
    if (rec.forced) {
      spdlog::warn("branch {} was force-pushed: {} replaces {}, which is not its ancestor",
                   settings_.branch, short_sha(rec.sha), short_sha(rec.previous));
    }
    spdlog::info("deploying {} of {} ({})", short_sha(rec.sha), settings_.branch, reason);
    auto checkout = timed("checkout", [&] { return git_->checkout(rec.sha); });
    if (!checkout) {
      out.error = checkout.error();
    } else {
      dir = *checkout;
      out = runner_->deploy({dir, rec.sha, reason}, [&](const std::string& step) {
        rec.step = step;
        publish();
      });
      git_->remove_checkout(dir);
      for (const auto& s : out.steps) rec.steps.push_back(s);
    }
  }

  rec.ended_ms = wall_ms();
  rec.step.clear();
  rec.error = out.error;
  const long long took_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count();
  Did did = Did::kDeployFailed;
  switch (out.kind) {
    case DeployOutcome::Kind::kSuccess:
      rec.result = "success";
      did = Did::kDeployed;
      break;
    case DeployOutcome::Kind::kLocked:
      rec.result = "locked";
      did = Did::kDeployLocked;
      break;
    case DeployOutcome::Kind::kInterrupted:
      rec.result = "interrupted";
      did = Did::kDeployInterrupted;
      break;
    case DeployOutcome::Kind::kFailure:
      rec.result = "failure";
      break;
  }
  store_.update([&](WatchState& s) {
    if (did == Did::kDeployed) {
      s.deployed_tip = rec.sha;
      s.live = out.live;
      s.failed_sha.clear();
      s.failed_attempts = 0;
      s.retry_after_ms = 0;
    } else if (did == Did::kDeployFailed) {
      std::string sha = rec.sha.empty() ? state.last_seen : rec.sha;
      s.failed_attempts = s.failed_sha == sha ? s.failed_attempts + 1 : 1;
      s.failed_sha = sha;
      s.retry_after_ms = rec.ended_ms + settings_.poll_interval.count() *
                                            static_cast<long long>(s.failed_attempts);
    }
  });
  store_.record(rec);
  {
    std::lock_guard lock(mu_);
    running_.reset();
    metrics_.last_deploy_ms = rec.ended_ms;
    switch (did) {
      case Did::kDeployed:
        ++metrics_.deploys_success;
        break;
      case Did::kDeployLocked:
        ++metrics_.deploys_locked;
        break;
      case Did::kDeployInterrupted:
        ++metrics_.deploys_interrupted;
        break;
      default:
        ++metrics_.deploys_failure;
    }
    double secs = static_cast<double>(took_ms) / 1000.0;
    for (size_t i = 0; i < std::size(WatcherMetrics::kBuckets); ++i) {
      if (secs <= WatcherMetrics::kBuckets[i]) ++metrics_.bucket_counts[i];
    }
    ++metrics_.duration_count;
    metrics_.duration_sum_s += secs;
  }
  if (did == Did::kDeployed) {
    spdlog::info("deployed {} of {} in {:.1f}s", short_sha(rec.sha), settings_.branch,
                 static_cast<double>(took_ms) / 1000.0);
  } else {
    spdlog::error("deploy of {} {}: {}", rec.sha.empty() ? settings_.branch : short_sha(rec.sha),
                  rec.result == "locked" ? "waits for the deploy lock" : "failed", rec.error);
  }
  if (listener_) listener_->finished(rec);
  return did;
}

void Watcher::run_until(const std::atomic<bool>& stop, const std::function<void()>& between) {
  while (!stop) {
    if (between) between();
    if (stop) break;
    poll_once();
    std::unique_lock lock(mu_);
    if (!pending_.empty() || stop) continue;
    // Wake at the next poll, or within a second to look at `stop` and run `between`.
    auto wait = std::chrono::milliseconds(1000);
    if (next_poll_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*next_poll_ - clock_.now());
      wait = std::clamp(left, std::chrono::milliseconds(0), wait);
    }
    wake_.wait_for(lock, wait, [&] { return !pending_.empty() || stop; });
  }
}

}  // namespace podlift::watcher
