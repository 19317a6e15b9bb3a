// The watcher's decisions, stepped with poll_once() on a fake clock, a fake git remote and a fake
// deploy runner; its state is real files in a temporary directory.
#include "watcher/watcher.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fake_clock.hpp"
#include "fake_watcher.hpp"
#include "watcher/state.hpp"

namespace podlift::watcher {
namespace {

namespace fs = std::filesystem;
using Did = Watcher::Did;
using namespace std::chrono_literals;

const std::string A(40, 'a'), B(40, 'b'), C(40, 'c'), D(40, 'd');

class WatcherTest : public ::testing::Test {
 protected:
  WatcherTest()
      : dir_(make_dir()),
        store_(dir_ + "/hello"),
        w_({"hello", "main", 30s, 3}, git_, runner_, store_, clock_) {}
  ~WatcherTest() override { fs::remove_all(dir_); }
  static std::string make_dir() {
    std::string t = (fs::temp_directory_path() / "podlift-watcher.XXXXXX").string();
    return mkdtemp(t.data());
  }
  std::string dir_;
  FakeClock clock_;
  FakeGitSource git_;
  FakeDeployRunner runner_;
  StateStore store_;
  Watcher w_;
};

TEST_F(WatcherTest, FirstPollDeploysTheTipAndTheSameTipIsLeftAlone) {
  git_.branch_tip = A;
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  ASSERT_EQ(runner_.requests.size(), 1u);
  EXPECT_EQ(runner_.requests[0].sha, A);
  EXPECT_EQ(runner_.requests[0].trigger, "poll");
  EXPECT_EQ(git_.removed, 1) << "the checkout is removed after the deploy";
  EXPECT_EQ(w_.poll_once(), Did::kIdle) << "the next poll is not due yet";
  clock_.sleep_for(30s);
  EXPECT_EQ(w_.poll_once(), Did::kUpToDate);
  EXPECT_EQ(git_.fetches, 1) << "an unchanged tip is not fetched";
  auto state = store_.load();
  EXPECT_EQ(state.deployed_tip, A);
  EXPECT_EQ(state.live.at("root@server:22"), A);
  auto h = store_.history();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].result, "success");
  EXPECT_EQ(h[0].sha, A);
  ASSERT_GE(h[0].steps.size(), 4u);
  EXPECT_EQ(h[0].steps[0].step, "fetch");
  EXPECT_EQ(h[0].steps[1].step, "checkout");
  EXPECT_EQ(h[0].steps[2].step, "build");
}

TEST_F(WatcherTest, ATriggerMakesThePollHappenNowAndNamesTheDeploy) {
  git_.branch_tip = A;
  w_.poll_once();
  git_.branch_tip = B;
  EXPECT_EQ(w_.poll_once(), Did::kIdle);
  w_.trigger("webhook github");
  EXPECT_TRUE(w_.snapshot().trigger_pending);
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  EXPECT_EQ(runner_.requests.back().trigger, "webhook github");
  EXPECT_EQ(runner_.requests.back().sha, B);
  EXPECT_FALSE(w_.snapshot().trigger_pending);
}

TEST_F(WatcherTest, TheFetchedTipIsDeployedNotTheOneListed) {
  git_.branch_tip = A;
  w_.poll_once();
  // The branch moves between listing and fetching: the fetched tip wins.
  struct Racing : FakeGitSource {
    Result<FetchResult> fetch() override {
      branch_tip = std::string(40, 'e');
      return FakeGitSource::fetch();
    }
  } racing;
  racing.branch_tip = B;
  w_.reconfigure({"hello", "main", 30s, 3}, racing, runner_, nullptr);
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  EXPECT_EQ(runner_.requests.back().sha, std::string(40, 'e'));
}

TEST_F(WatcherTest, BurstOfPushesDuringADeployGivesOneMoreDeployOfTheNewest) {
  git_.branch_tip = A;
  w_.poll_once();
  git_.branch_tip = B;
  int pushes = 0;
  runner_.during = [&] {
    // Ten pushes, each with its webhook, while the deploy of B runs.
    if (pushes) return;
    for (pushes = 0; pushes < 10; ++pushes) {
      git_.branch_tip = std::string(39, 'f') + static_cast<char>('0' + pushes);
      w_.trigger("webhook gitlab");
    }
  };
  w_.trigger("webhook gitlab");
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  EXPECT_TRUE(w_.snapshot().trigger_pending) << "one trigger waits, however many arrived";
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  EXPECT_EQ(runner_.requests.back().sha, std::string(39, 'f') + '9');
  EXPECT_EQ(w_.poll_once(), Did::kIdle);
  EXPECT_EQ(runner_.requests.size(), 3u) << "A, then B, then the newest: two deploys for the burst";
}

TEST_F(WatcherTest, AFailedCommitIsRetriedWithBackoffAtMostMaxAttemptsTimes) {
  git_.branch_tip = A;
  runner_.outcomes = {DeployOutcome::Kind::kFailure, DeployOutcome::Kind::kFailure,
                      DeployOutcome::Kind::kFailure};
  EXPECT_EQ(w_.poll_once(), Did::kDeployFailed);
  clock_.sleep_for(30s);
  // The retry is due poll_interval x attempts after the failure, by the wall clock.
  auto state = store_.load();
  EXPECT_EQ(state.failed_sha, A);
  EXPECT_EQ(state.failed_attempts, 1);
  store_.update([](WatchState& s) { s.retry_after_ms = 0; });
  EXPECT_EQ(w_.poll_once(), Did::kDeployFailed);
  EXPECT_EQ(runner_.requests.back().trigger, "retry");
  clock_.sleep_for(30s);
  EXPECT_EQ(w_.poll_once(), Did::kWaitingRetry) << "the second retry waits 2 x poll_interval";
  store_.update([](WatchState& s) { s.retry_after_ms = 0; });
  clock_.sleep_for(30s);
  EXPECT_EQ(w_.poll_once(), Did::kDeployFailed);
  store_.update([](WatchState& s) { s.retry_after_ms = 0; });
  clock_.sleep_for(30s);
  EXPECT_EQ(w_.poll_once(), Did::kGaveUp);
  EXPECT_EQ(runner_.requests.size(), 3u);
  // A new commit supersedes the failed one at once.
  git_.branch_tip = B;
  w_.trigger("webhook github");
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  state = store_.load();
  EXPECT_EQ(state.failed_sha, "");
  EXPECT_EQ(state.deployed_tip, B);
}

TEST_F(WatcherTest, ATakenDeployLockIsNotAFailedAttempt) {
  git_.branch_tip = A;
  runner_.outcomes = {DeployOutcome::Kind::kLocked};
  EXPECT_EQ(w_.poll_once(), Did::kDeployLocked);
  EXPECT_EQ(store_.load().failed_attempts, 0);
  EXPECT_EQ(store_.history().back().result, "locked");
  clock_.sleep_for(30s);
  EXPECT_EQ(w_.poll_once(), Did::kDeployed) << "tried again at the next poll";
}

TEST_F(WatcherTest, AMissingBranchDeploysNothingUntilItIsBack) {
  git_.branch_tip = A;
  w_.poll_once();
  git_.branch_tip.reset();
  w_.trigger("webhook generic");
  EXPECT_EQ(w_.poll_once(), Did::kBranchMissing);
  EXPECT_TRUE(store_.load().branch_missing);
  EXPECT_EQ(store_.load().deployed_tip, A) << "the servers keep what they serve";
  git_.branch_tip = B;
  w_.trigger("webhook generic");
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  EXPECT_FALSE(store_.load().branch_missing);
}

TEST_F(WatcherTest, AFailedPollIsReportedAndTheNextPollStillHappens) {
  git_.fail_tip = "listing the branches of http://x: no answer within 30s";
  EXPECT_EQ(w_.poll_once(), Did::kPollFailed);
  EXPECT_EQ(store_.load().last_poll_error, git_.fail_tip);
  EXPECT_EQ(w_.snapshot().metrics.poll_failures, 1);
  clock_.sleep_for(30s);
  git_.fail_tip.clear();
  git_.branch_tip = A;
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  EXPECT_EQ(store_.load().last_poll_error, "");
  EXPECT_EQ(w_.snapshot().metrics.polls, 2);
}

TEST_F(WatcherTest, PausedWatcherDeploysNothingUntilResumed) {
  git_.branch_tip = A;
  w_.poll_once();
  store_.update([](WatchState& s) {
    s.paused = true;
    s.paused_by = "ops@laptop";
  });
  git_.branch_tip = B;
  w_.trigger("webhook github");
  EXPECT_EQ(w_.poll_once(), Did::kPaused);
  store_.update([](WatchState& s) { s.paused = false; });
  clock_.sleep_for(30s);
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  EXPECT_EQ(runner_.requests.back().sha, B);
}

TEST_F(WatcherTest, AForcePushIsRecorded) {
  git_.branch_tip = A;
  w_.poll_once();
  git_.branch_tip = C;
  git_.next_fetch_forced = true;
  w_.trigger("poll");
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
  auto last = store_.history().back();
  EXPECT_TRUE(last.forced);
  EXPECT_EQ(last.previous, A);
  EXPECT_EQ(last.sha, C);
}

TEST_F(WatcherTest, AManualRollbackStandsUntilTheNextPush) {
  git_.branch_tip = A;
  w_.poll_once();
  // `podlift rollback` changed what runs, not the branch: the watcher does not undo it.
  store_.update([](WatchState& s) { s.live["root@server:22"] = D; });
  clock_.sleep_for(30s);
  EXPECT_EQ(w_.poll_once(), Did::kUpToDate);
  git_.branch_tip = B;
  clock_.sleep_for(30s);
  EXPECT_EQ(w_.poll_once(), Did::kDeployed);
}

TEST_F(WatcherTest, MetricsCountDeploysAndDurations) {
  git_.branch_tip = A;
  w_.poll_once();
  git_.branch_tip = B;
  runner_.outcomes = {DeployOutcome::Kind::kFailure};
  w_.trigger("x");
  w_.poll_once();
  auto m = w_.snapshot().metrics;
  EXPECT_EQ(m.deploys_success, 1);
  EXPECT_EQ(m.deploys_failure, 1);
  EXPECT_EQ(m.duration_count, 2);
  EXPECT_GT(m.last_deploy_ms, 0);
}

TEST(StateStore, RunningRecordsOfDeadProcessesBecomeInterrupted) {
  std::string t = (fs::temp_directory_path() / "podlift-state.XXXXXX").string();
  std::string dir = mkdtemp(t.data());
  StateStore store(dir + "/svc");
  DeployRecord dead;
  dead.result = "running";
  dead.step = "build";
  dead.pid = 999999999;  // no such process
  DeployRecord alive = dead;
  alive.pid = getpid();
  long long id1 = store.record(dead);
  long long id2 = store.record(alive);
  EXPECT_EQ(id2, id1 + 1);
  EXPECT_EQ(store.close_abandoned(1234), 1);
  auto h = store.history();
  EXPECT_EQ(h[0].result, "interrupted");
  EXPECT_NE(h[0].error.find("\"build\""), std::string::npos) << h[0].error;
  EXPECT_EQ(h[1].result, "running") << "a live process's deploy is left alone";
  fs::remove_all(dir);
}

TEST(StateStore, KeepsTheNewestHundredRecords) {
  std::string t = (fs::temp_directory_path() / "podlift-state.XXXXXX").string();
  std::string dir = mkdtemp(t.data());
  StateStore store(dir);
  for (int i = 0; i < 105; ++i) {
    DeployRecord r;
    r.result = "success";
    store.record(r);
  }
  auto h = store.history();
  ASSERT_EQ(h.size(), StateStore::kHistoryLimit);
  EXPECT_EQ(h.front().id, 6);
  EXPECT_EQ(h.back().id, 105);
  fs::remove_all(dir);
}

TEST(StateStore, ACorruptStateFileIsAnErrorNotAReset) {
  std::string t = (fs::temp_directory_path() / "podlift-state.XXXXXX").string();
  std::string dir = mkdtemp(t.data());
  StateStore store(dir);
  store.update([](WatchState& s) { s.deployed_tip = "abc"; });
  std::ofstream(dir + "/state.json") << "{\"deployed_tip\": ";
  EXPECT_THROW(store.load(), Error);
  try {
    store.load();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/state.json"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace podlift::watcher
