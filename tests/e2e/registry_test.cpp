// Registry mode end to end, against a real registry (Debian's docker-registry with TLS and
// bcrypt htpasswd auth) started on the build box: push from the build box, pull on the server;
// a wrong password and a registry that is down fail before anything changes on the server (or,
// with fallback: ssh, ship over SSH); rollback needs no registry; no credential stays behind.
#include <gtest/gtest.h>

#include <memory>

#include "harness.hpp"
#include "registry_server.hpp"

namespace podlift::e2e {
namespace {

const std::string kUser = "deployer";
const std::string kPassword = "reg-pa55word-for-e2e";

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class RegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!prepare_environment().empty()) return;
    registry_ = std::make_unique<TestRegistry>(kUser, kPassword);
    d_ = std::make_unique<Deployment>("registry");
    registry_->trust(d_->server());
    d_->write_config("registry:\n  server: " + registry_->address() + "\n  username: " + kUser +
                     "\n  password_secret: E2E_REGISTRY_PASSWORD\n");
  }
  static void TearDownTestSuite() {
    d_.reset();
    registry_.reset();
  }
  void SetUp() override {
    if (!prepare_environment().empty()) GTEST_SKIP() << prepare_environment();
    registry_->start();
  }
  static Exec deploy(const std::string& password, const std::vector<std::string>& more_env = {}) {
    std::vector<std::string> env = {"E2E_REGISTRY_PASSWORD=" + password};
    env.insert(env.end(), more_env.begin(), more_env.end());
    return d_->podlift({"deploy"}, env);
  }
  static std::string image(const std::string& sha) {
    return registry_->address() + "/podlift/hello:" + sha;
  }
  static bool server_has(const std::string& sha) {
    return d_->server().exec("docker image inspect " + image(sha) + " >/dev/null 2>&1").rc == 0;
  }
  static bool lock_free() {
    Exec r = d_->podlift({"lock", "status"}, {"E2E_REGISTRY_PASSWORD=" + kPassword});
    return r.rc == 0 && r.out.find("free") != std::string::npos;
  }

  static std::unique_ptr<TestRegistry> registry_;
  static std::unique_ptr<Deployment> d_;
};
std::unique_ptr<TestRegistry> RegistryTest::registry_;
std::unique_ptr<Deployment> RegistryTest::d_;

TEST_F(RegistryTest, TheBuildBoxPushesAndTheServerPullsLeavingNoCredentials) {
  Exec r = deploy(kPassword);
  ASSERT_EQ(r.rc, 0) << r.all();
  const std::string sha = d_->repo().head();
  EXPECT_NE(r.out.find("pushing " + image(sha)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("image pulled from the registry"), std::string::npos) << r.out;
  EXPECT_EQ(d_->served_version(), sha);
  EXPECT_TRUE(server_has(sha));
  Exec tags = registry_->api("/v2/podlift/hello/tags/list");
  EXPECT_NE(tags.out.find(sha), std::string::npos) << tags.all();
  // The password went over stdin into throwaway docker configs: nothing keeps it, neither in
  // clear nor as docker stores it (base64 of user:password).
  EXPECT_EQ(r.all().find(kPassword), std::string::npos);
  const std::string stored =
      trimmed(run({"sh", "-c", "printf %s " + kUser + ":" + kPassword + " | base64 -w0"}).out);
  Exec left = d_->server().exec(
      "test ! -e /root/.docker/config.json && ! ls -d /tmp/tmp.* >/dev/null 2>&1 && "
      "! grep -rqsE '" +
      kPassword + "|" + stored + "' /tmp /root /var/lib/podlift /etc/docker");
  EXPECT_EQ(left.rc, 0) << "credentials were left on the server: " << left.all();
  // Nor the build box: its private docker config is gone.
  EXPECT_NE(sh("compgen -G '/tmp/podlift-docker.*'").rc, 0) << "a private docker config was left";
}

TEST_F(RegistryTest, ValidateChecksTheLoginOnTheBuildBoxAndOnEachServer) {
  Exec ok = d_->podlift({"validate"}, {"E2E_REGISTRY_PASSWORD=" + kPassword});
  EXPECT_EQ(ok.rc, 0) << ok.all();
  EXPECT_NE(ok.out.find("build box"), std::string::npos) << ok.out;
  size_t logins = 0;
  for (size_t at = ok.out.find("logged in to " + registry_->address()); at != std::string::npos;
       at = ok.out.find("logged in to", at + 1)) {
    ++logins;
  }
  EXPECT_EQ(logins, 2u) << ok.out;  // the build box and the server
  Exec bad = d_->podlift({"validate"}, {"E2E_REGISTRY_PASSWORD=wrong-one"});
  EXPECT_NE(bad.rc, 0) << bad.all();
  EXPECT_NE(bad.out.find("401 Unauthorized"), std::string::npos) << bad.out;
}

TEST_F(RegistryTest, AWrongPasswordFailsBeforeAnythingChanges) {
  const std::string live = d_->served_version();
  const std::string sha = d_->repo().commit_file("message.txt", "wrong password\n", "v-wrong");
  Exec r = deploy("not-the-password");
  EXPECT_NE(r.rc, 0) << r.all();
  EXPECT_NE(r.err.find("refused the login of user " + kUser), std::string::npos) << r.all();
  EXPECT_NE(r.err.find("401 Unauthorized"), std::string::npos) << r.all();
  EXPECT_NE(r.err.find("E2E_REGISTRY_PASSWORD"), std::string::npos) << r.all();
  EXPECT_EQ(r.all().find("not-the-password"), std::string::npos) << "the password was printed";
  EXPECT_EQ(d_->served_version(), live);
  EXPECT_FALSE(server_has(sha));
  EXPECT_TRUE(lock_free());
}

TEST_F(RegistryTest, ARegistryThatIsDownFailsCleanlyOrFallsBackToSsh) {
  const std::string live = d_->served_version();
  const std::string sha = d_->repo().commit_file("message.txt", "registry down\n", "v-down");
  registry_->stop();
  Exec r = deploy(kPassword);
  EXPECT_NE(r.rc, 0) << r.all();
  EXPECT_NE(r.err.find("cannot reach registry " + registry_->address()), std::string::npos)
      << r.all();
  EXPECT_NE(r.err.find("connection refused"), std::string::npos) << r.all();
  EXPECT_EQ(d_->served_version(), live);
  EXPECT_FALSE(server_has(sha));
  EXPECT_TRUE(lock_free());

  Exec fallback = deploy(kPassword, {"PODLIFT_REGISTRY_FALLBACK=ssh"});
  ASSERT_EQ(fallback.rc, 0) << fallback.all();
  EXPECT_NE(fallback.out.find("shipping over SSH (registry.fallback: ssh)"), std::string::npos)
      << fallback.out;
  EXPECT_NE(fallback.out.find("over SSH (2 of 3 layers were already there)"), std::string::npos)
      << fallback.out;
  EXPECT_EQ(d_->served_version(), sha);
}

TEST_F(RegistryTest, RollbackNeedsNoRegistry) {
  registry_->stop();
  const std::string live = d_->served_version();
  Exec r = d_->podlift({"rollback"}, {"E2E_REGISTRY_PASSWORD=" + kPassword});
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(d_->served_version(), live);
  EXPECT_FALSE(d_->served_version().empty());
}

TEST_F(RegistryTest, APasswordCommandGivesThePassword) {
  d_->write_config("registry:\n  server: " + registry_->address() + "\n  username: " + kUser +
                   "\n  password_command: printf %s " + kPassword + "\n");
  const std::string sha = d_->repo().commit_file("message.txt", "password command\n", "v-cmd");
  Exec r = d_->podlift({"deploy"});
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_EQ(d_->served_version(), sha);
  Exec dry = d_->podlift({"deploy", "--dry-run"});
  EXPECT_EQ(dry.rc, 0) << dry.all();
  EXPECT_NE(dry.out.find("password on stdin, from registry.password_command"), std::string::npos)
      << dry.out;
}

}  // namespace
}  // namespace podlift::e2e
