// The first real deploy, end to end: the sample app in a real git repository is built, shipped
// over SSH to a real test server, started, health-checked and served through its nginx; then bad
// input of every kind fails clearly and leaves the server serving what it served before.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "harness.hpp"

namespace podlift::e2e {
namespace {

class DeployTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!prepare_environment().empty()) return;
    d_ = std::make_unique<Deployment>("deploy");
    server_ = &d_->server();
    repo_ = &d_->repo();
    known_hosts_ = d_->known_hosts();
  }
  static void TearDownTestSuite() { d_.reset(); }
  void SetUp() override {
    if (!prepare_environment().empty()) GTEST_SKIP() << prepare_environment();
  }

  static void write_config(const std::string& extra, int listen = 80,
                           const std::string& server_name = "_") {
    d_->write_config(extra, listen, server_name);
  }
  static Exec deploy(const std::vector<std::string>& extra_args = {},
                     const std::vector<std::string>& env = {}) {
    std::vector<std::string> args = {"deploy"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return d_->podlift(args, env);
  }
  static Http served() { return d_->served(); }
  static std::string served_version() { return d_->served_version(); }
  static int container_count() { return d_->container_count(); }

  static std::unique_ptr<Deployment> d_;
  static TestServer* server_;
  static AppRepo* repo_;
  static std::string known_hosts_;
  static std::string live_sha_;
};
std::unique_ptr<Deployment> DeployTest::d_;
TestServer* DeployTest::server_;
AppRepo* DeployTest::repo_;
std::string DeployTest::known_hosts_;
std::string DeployTest::live_sha_;

TEST_F(DeployTest, ValidatePassesOnARealServer) {
  Exec r = podlift(repo_->dir(), {"validate"});
  EXPECT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.out.find("host key verified"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("server 20.10"), std::string::npos) << r.out;
}

TEST_F(DeployTest, FirstDeployIsServedThroughNginxWithItsSha) {
  const std::string sha = repo_->head();
  Exec r = deploy();
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.out.find("deployed " + sha.substr(0, 12)), std::string::npos) << r.out;
  for (const char* step : {"build", "ship", "health", "switch"}) {
    EXPECT_NE(r.out.find(std::string(" ") + step + " "), std::string::npos) << step << r.out;
  }
  Http h = served();
  EXPECT_EQ(h.status, 200);
  EXPECT_NE(h.body.find("version " + sha), std::string::npos) << h.body;
  EXPECT_NE(h.upstream_header.find("127.0.0.1:"), std::string::npos) << h.upstream_header;
  // The secret reached the app through a 0600 env file, and appears in no output.
  EXPECT_EQ(r.all().find("s3cr3t-token-value"), std::string::npos);
  Exec mode = server_->exec("stat -c %a /var/lib/podlift/hello/*.env");
  EXPECT_EQ(mode.out, "600\n");
  Exec ps_args = server_->exec("ps -eo args | grep -c '[s]3cr3t-token-value' || true");
  EXPECT_EQ(ps_args.out, "0\n") << "no process on the server shows the secret";
  live_sha_ = sha;
}

TEST_F(DeployTest, PsAndLogsShowTheLiveContainer) {
  ASSERT_FALSE(live_sha_.empty());
  Exec ps = podlift(repo_->dir(), {"ps", "--json"});
  ASSERT_EQ(ps.rc, 0) << ps.all();
  EXPECT_NE(ps.out.find("\"version\": \"" + live_sha_ + "\""), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("\"live\": true"), std::string::npos) << ps.out;
  Exec table = podlift(repo_->dir(), {"ps"});
  EXPECT_NE(table.out.find(live_sha_.substr(0, 12)), std::string::npos) << table.out;
  Exec logs = podlift(repo_->dir(), {"logs", "-n", "5"});
  ASSERT_EQ(logs.rc, 0) << logs.all();
  EXPECT_NE(logs.out.find("listening on 3000, version " + live_sha_), std::string::npos)
      << logs.out;
}

TEST_F(DeployTest, DryRunPrintsThePlanAndChangesNothing) {
  ASSERT_FALSE(live_sha_.empty());
  repo_->commit_file("message.txt", "dry run version\n", "dry run");
  int before = container_count();
  Exec r = deploy({"--dry-run"});
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.out.find("docker run"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HELLO_TOKEN=[redacted]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("s3cr3t"), std::string::npos) << r.out;
  EXPECT_EQ(container_count(), before);
  EXPECT_EQ(served_version(), live_sha_);
}

TEST_F(DeployTest, SecondCommitIsDeployedAndServed) {
  ASSERT_FALSE(live_sha_.empty());
  const std::string sha = repo_->commit_file("message.txt", "second version\n", "v2");
  Exec r = deploy();
  ASSERT_EQ(r.rc, 0) << r.all();
  Http h = served();
  EXPECT_NE(h.body.find("version " + sha + ": second version"), std::string::npos) << h.body;
  // The previous version is stopped but kept for rollback.
  Exec ps = podlift(repo_->dir(), {"ps", "--json"});
  EXPECT_NE(ps.out.find("\"version\": \"" + live_sha_ + "\""), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("\"state\": \"exited\""), std::string::npos) << ps.out;
  live_sha_ = sha;
}

TEST_F(DeployTest, DirtyTreeIsRefusedUnlessAllowed) {
  ASSERT_FALSE(live_sha_.empty());
  repo_->write("message.txt", "uncommitted\n");
  Exec r = deploy();
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("uncommitted changes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-dirty"), std::string::npos) << r.err;
  EXPECT_EQ(served_version(), live_sha_);
  run({"git", "-C", repo_->dir(), "checkout", "--", "message.txt"});
}

TEST_F(DeployTest, UnknownConfigKeyFailsWithFileLineAndChangesNothing) {
  ASSERT_FALSE(live_sha_.empty());
  write_config("healtcheck:\n  path: /up\n");
  int before = container_count();
  Exec r = deploy();
  write_config("");
  EXPECT_EQ(r.rc, 3) << r.all();
  EXPECT_NE(r.err.find("podlift.yml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown key \"healtcheck\" (did you mean \"healthcheck\"?)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(container_count(), before);
  EXPECT_EQ(served_version(), live_sha_);
}

TEST_F(DeployTest, WrongHostKeyIsRefusedAndNamesTheHost) {
  ASSERT_FALSE(live_sha_.empty());
  const std::string other = work_dir() + "/other_key";
  run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other});
  std::ifstream in(other + ".pub");
  std::string type, blob;
  in >> type >> blob;
  std::ofstream(known_hosts_, std::ios::trunc)
      << "[127.0.0.1]:" << server_->ssh_port() << " " << type << " " << blob << "\n";
  Exec r = deploy();
  std::ofstream(known_hosts_, std::ios::trunc) << server_->known_hosts_line() << "\n";
  EXPECT_EQ(r.rc, 4) << r.all();
  EXPECT_NE(r.err.find("HOST KEY MISMATCH"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ssh-keygen -R"), std::string::npos) << r.err;
  EXPECT_EQ(served_version(), live_sha_);
}

TEST_F(DeployTest, HashedKnownHostsEntryIsAccepted) {
  ASSERT_FALSE(live_sha_.empty());
  ASSERT_EQ(run({"ssh-keygen", "-q", "-H", "-f", known_hosts_}).rc, 0);
  Exec r = podlift(repo_->dir(), {"ps"});
  std::ofstream(known_hosts_, std::ios::trunc) << server_->known_hosts_line() << "\n";
  EXPECT_EQ(r.rc, 0) << r.all();
}

TEST_F(DeployTest, UnreachableServerFailsClearly) {
  ASSERT_FALSE(live_sha_.empty());
  // Port 1 on loopback: nothing listens there.
  std::ofstream(repo_->dir() + "/unreachable.yml")
      << "service: hello\nservers:\n  - host: 127.0.0.1\n    port: 1\n"
         "ssh:\n  known_hosts: "
      << known_hosts_ << "\n  connect_timeout: 3s\n";
  Exec r = podlift(repo_->dir(), {"--config", "unreachable.yml", "deploy"});
  EXPECT_EQ(r.rc, 4) << r.all();
  EXPECT_NE(r.err.find("cannot connect to root@127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_EQ(served_version(), live_sha_);
}

TEST_F(DeployTest, HungServerTimesOut) {
  ASSERT_FALSE(live_sha_.empty());
  server_->pause();
  Exec r = deploy({}, {"PODLIFT_SSH_CONNECT_TIMEOUT=2s"});
  server_->unpause();
  EXPECT_EQ(r.rc, 4) << r.all();
  EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << r.err;
  EXPECT_EQ(served_version(), live_sha_);
}

TEST_F(DeployTest, AppThatNeverBecomesHealthyIsRemovedAndOldKeepsServing) {
  ASSERT_FALSE(live_sha_.empty());
  int before = container_count();
  const std::string bad_sha = repo_->commit_file("UNHEALTHY", "yes\n", "break health");
  Exec r = deploy({}, {"PODLIFT_HEALTHCHECK_DEADLINE=4s"});
  EXPECT_EQ(r.rc, 5) << r.all();
  EXPECT_NE(r.err.find("did not become healthy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("last: HTTP 503"), std::string::npos) << r.err;
  EXPECT_EQ(container_count(), before);
  // The image of a version that never served is not left behind either.
  EXPECT_NE(server_->exec("docker image inspect podlift/hello:" + bad_sha).rc, 0);
  EXPECT_EQ(served_version(), live_sha_);
  repo_->remove_and_commit("UNHEALTHY", "heal");
}

TEST_F(DeployTest, TakenListenPortFailsBeforeAnythingChanges) {
  ASSERT_FALSE(live_sha_.empty());
  server_->exec(
      "nohup perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalPort=>8080,Listen=>1,"
      "ReuseAddr=>1) or die; sleep 600' >/dev/null 2>&1 &");
  write_config("", 8080);
  int before = container_count();
  Exec r = deploy();
  write_config("");
  server_->exec("pkill -f 'LocalPort=>8080' || true");
  EXPECT_EQ(r.rc, 1) << r.all();
  EXPECT_NE(r.err.find("port 8080"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"perl\""), std::string::npos) << r.err;
  EXPECT_EQ(container_count(), before);
  EXPECT_EQ(served_version(), live_sha_);
}

TEST_F(DeployTest, NginxRejectingTheSiteRestoresThePreviousOne) {
  ASSERT_FALSE(live_sha_.empty());
  // Another site that breaks `nginx -t`; podlift runs it when its own site changes (here:
  // a new server_name).
  server_->exec(
      "echo 'server { listen 81; bogus_directive on; }' "
      "> /etc/nginx/conf.d/zz-broken.conf");
  std::string before_site = server_->exec("cat /etc/nginx/conf.d/podlift-hello.conf").out;
  write_config("", 80, "hello.test");
  const std::string sha = repo_->commit_file("message.txt", "third version\n", "v3");
  int before = container_count();
  Exec r = deploy();
  server_->exec("rm -f /etc/nginx/conf.d/zz-broken.conf");
  write_config("");
  EXPECT_EQ(r.rc, 1) << r.all();
  EXPECT_NE(r.err.find("nginx rejected the new site"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bogus_directive"), std::string::npos) << r.err;
  EXPECT_EQ(server_->exec("cat /etc/nginx/conf.d/podlift-hello.conf").out, before_site);
  EXPECT_EQ(container_count(), before);
  EXPECT_EQ(served_version(), live_sha_);
  // And once the conflict is gone, the same commit deploys.
  Exec ok = deploy();
  ASSERT_EQ(ok.rc, 0) << ok.all();
  EXPECT_EQ(served_version(), sha);
  live_sha_ = sha;
}

}  // namespace
}  // namespace podlift::e2e
