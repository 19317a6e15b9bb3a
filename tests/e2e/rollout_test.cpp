// Zero-downtime rollouts on a real test server: deploys under keepalive load lose no request,
// rollback works without a build or registry, the deploy lock serialises deploys and survives
// crashes, and slow, failing or interrupted deploys leave the old version serving.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "core/quote.hpp"
#include "harness.hpp"

namespace podlift::e2e {
namespace {

class RolloutTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!prepare_environment().empty()) return;
    d_ = std::make_unique<Deployment>("rollout");
    Exec first = d_->podlift({"deploy"});
    if (first.rc == 0) shas_.push_back(d_->repo().head());
    // An image of another service (sharing layers with ours), which pruning must leave alone.
    d_->server().exec("docker tag podlift/hello:" + d_->repo().head() + " other/app:keep");
  }
  static void TearDownTestSuite() { d_.reset(); }
  void SetUp() override {
    if (!prepare_environment().empty()) GTEST_SKIP() << prepare_environment();
    ASSERT_FALSE(shas_.empty()) << "the first deploy failed";
  }
  static std::string commit(const std::string& message) {
    return d_->repo().commit_file("message.txt", message + "\n", message);
  }
  static int running_count() {
    return std::atoi(
        d_->server().exec("docker ps -q --filter label=podlift.service=hello | wc -l").out.c_str());
  }

  static std::unique_ptr<Deployment> d_;
  static std::vector<std::string> shas_;  // deployed versions, oldest first
};
std::unique_ptr<Deployment> RolloutTest::d_;
std::vector<std::string> RolloutTest::shas_;

TEST_F(RolloutTest, DeploysAndARollbackUnderKeepaliveLoadFailNoRequest) {
  const std::string url = "http://127.0.0.1:" + std::to_string(d_->server().http_port()) + "/";
  // wrk keeps 32 connections alive and never retries: every reset or 5xx is counted.
  sh("wrk -t2 -c32 -d40s " + url + " > " + shell_quote(work_dir() + "/wrk.txt") + " 2>&1 &");
  sleep_ms(1000);
  // A request that is in flight while the switch happens must still be answered.
  sh("curl -s -o /dev/null -w '%{http_code}' --max-time 30 " + url + "sleep/5 > " +
     shell_quote(work_dir() + "/slow.txt") + " &");
  for (int i = 0; i < 3; ++i) {
    std::string sha = commit("load " + std::to_string(i));
    Exec r = d_->podlift({"deploy"});
    ASSERT_EQ(r.rc, 0) << r.all();
    EXPECT_EQ(d_->served_version(), sha);
    shas_.push_back(sha);
  }
  Exec back = d_->podlift({"rollback"});
  ASSERT_EQ(back.rc, 0) << back.all();
  EXPECT_EQ(d_->served_version(), shas_[shas_.size() - 2]);
  shas_.push_back(shas_[shas_.size() - 2]);
  sh("while pgrep -x wrk >/dev/null; do sleep 0.5; done", 120);
  std::ifstream in(work_dir() + "/wrk.txt");
  std::string out((std::istreambuf_iterator<char>(in)), {});
  WrkTotals t = parse_wrk(out);
  std::ifstream slow(work_dir() + "/slow.txt");
  std::string slow_code((std::istreambuf_iterator<char>(slow)), {});
  std::printf("zero-downtime e2e: requests=%ld failed=%ld deploys=4\n", t.requests, t.failed);
  EXPECT_GT(t.requests, 1000) << out;
  EXPECT_EQ(t.failed, 0) << out;
  EXPECT_EQ(slow_code, "200");
}

TEST_F(RolloutTest, PsMarksTheLiveAndRetainedVersions) {
  Exec ps = d_->podlift({"ps", "--json"});
  ASSERT_EQ(ps.rc, 0) << ps.all();
  EXPECT_NE(ps.out.find("\"role\": \"live\""), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("\"role\": \"retained\""), std::string::npos) << ps.out;
  EXPECT_EQ(running_count(), 1);
}

TEST_F(RolloutTest, RollbackToANamedVersionNeedsNoLocalImage) {
  // Empty the build box's image store of this app: rollback must not need it.
  sh(docker() + " images -q podlift/hello | sort -u | xargs -r " + docker() + " rmi -f");
  const std::string target = shas_[shas_.size() - 2];
  Exec r = d_->podlift({"rollback", target.substr(0, 10)});
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.out.find("rolled back to " + target.substr(0, 12)), std::string::npos) << r.out;
  EXPECT_EQ(d_->served_version(), target);
  shas_.push_back(target);
  Exec bad = d_->podlift({"rollback", "deadbeef"});
  EXPECT_EQ(bad.rc, 2) << bad.all();
  EXPECT_NE(bad.err.find("no retained version \"deadbeef\""), std::string::npos) << bad.err;
}

TEST_F(RolloutTest, TwentyDeploysWithRetain3LeaveAtMost3Versions) {
  // The suite has deployed a few versions already; make it 20 deploys in all.
  for (size_t i = shas_.size(); i < 20; ++i) {
    commit("retain " + std::to_string(i));
    Exec r = d_->podlift({"deploy"});
    ASSERT_EQ(r.rc, 0) << r.all();
    shas_.push_back(d_->repo().head());
  }
  Exec versions = d_->server().exec(
      "docker ps -a --filter label=podlift.service=hello --format '{{.Label \"podlift.version\"}}'"
      " | sort -u | wc -l");
  EXPECT_LE(std::atoi(versions.out.c_str()), 3) << "retain: 3";
  Exec images = d_->server().exec("docker images -q podlift/hello | sort -u | wc -l");
  EXPECT_LE(std::atoi(images.out.c_str()), 3);
  // Another service's image on the same server is never touched.
  EXPECT_EQ(d_->server().exec("docker image inspect other/app:keep").rc, 0);
}

TEST_F(RolloutTest, TheDeployLockMakesASecondDeployWaitOrFail) {
  Exec hold = d_->podlift({"lock", "acquire", "-m", "maintenance window"});
  ASSERT_EQ(hold.rc, 0) << hold.all();
  commit("blocked");
  auto t0 = std::chrono::steady_clock::now();
  Exec r = d_->podlift({"deploy", "--lock-wait", "2"});
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("maintenance window"), std::string::npos) << r.err;
  EXPECT_GE(waited, std::chrono::seconds(2));
  Exec status = d_->podlift({"lock", "status"});
  EXPECT_NE(status.out.find("maintenance window"), std::string::npos) << status.all();
  ASSERT_EQ(d_->podlift({"lock", "release"}).rc, 0);
  Exec ok = d_->podlift({"deploy"});
  ASSERT_EQ(ok.rc, 0) << ok.all();
  shas_.push_back(d_->repo().head());
}

TEST_F(RolloutTest, SigtermDuringTheHealthWaitCleansUp) {
  const std::string live = d_->served_version();
  d_->repo().commit_file("HEALTHY_AFTER", "60\n", "slow to start");
  Background bg(d_->repo().dir(), "deploy", "PODLIFT_HEALTHCHECK_DEADLINE=90s");
  ASSERT_TRUE(bg.wait_for_output("started hello-", 120)) << bg.out();
  sleep_ms(1000);
  ::kill(bg.pid(), SIGTERM);
  int rc = bg.wait(30);
  EXPECT_EQ(rc, 130) << bg.out();
  EXPECT_NE(bg.out().find("interrupted by SIGTERM"), std::string::npos) << bg.out();
  EXPECT_EQ(running_count(), 1);  // the new container is gone
  EXPECT_EQ(d_->served_version(), live);
  Exec status = d_->podlift({"lock", "status"});
  EXPECT_NE(status.out.find(": free"), std::string::npos) << status.all();
}

TEST_F(RolloutTest, KillDashNineLeavesNothingTheNextDeployCannotRecoverFrom) {
  const std::string live = d_->served_version();
  Background bg(d_->repo().dir(), "deploy",
                "PODLIFT_HEALTHCHECK_DEADLINE=90s");  // HEAD is slow to start
  ASSERT_TRUE(bg.wait_for_output("started hello-", 120)) << bg.out();
  ::kill(bg.pid(), SIGKILL);
  bg.wait(10);
  EXPECT_EQ(d_->served_version(), live);
  // The next deploy reclaims the dead deploy's lock and removes its half-started container.
  d_->repo().remove_and_commit("HEALTHY_AFTER", "fast again");
  Exec r = d_->podlift({"deploy"});
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.all().find("reclaiming stale deploy lock"), std::string::npos) << r.all();
  EXPECT_EQ(d_->served_version(), d_->repo().head());
  EXPECT_EQ(running_count(), 1);
}

TEST_F(RolloutTest, AppHealthyAfter35sFailsWithDeadline30AndPassesWith60) {
  const std::string live = d_->served_version();
  const std::string slow = d_->repo().commit_file("HEALTHY_AFTER", "35\n", "35 s to start");
  Exec fail = d_->podlift({"deploy"}, {"PODLIFT_HEALTHCHECK_DEADLINE=30s"});
  EXPECT_EQ(fail.rc, 5) << fail.all();
  EXPECT_NE(fail.err.find("within 30s"), std::string::npos) << fail.err;
  EXPECT_EQ(d_->served_version(), live);
  EXPECT_EQ(running_count(), 1);
  Exec ok = d_->podlift({"deploy"}, {"PODLIFT_HEALTHCHECK_DEADLINE=60s"});
  ASSERT_EQ(ok.rc, 0) << ok.all();
  EXPECT_EQ(d_->served_version(), slow);
}

}  // namespace
}  // namespace podlift::e2e
