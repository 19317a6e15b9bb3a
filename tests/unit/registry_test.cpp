// Registry mode against fakes: the password travels on stdin only, errors are classified
// (unreachable → may fall back; refused → never), and the config rejects what cannot work.
#include "deployer/registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/config.hpp"
#include "core/redact.hpp"
#include "deployer/docker.hpp"
#include "fake_process.hpp"
#include "fake_remote.hpp"

namespace podlift {
namespace {

const std::string kPassword = "correct-horse-battery";

Config registry_config() {
  Config c;
  c.service = "web";
  c.image = "acme/web";
  c.registry.server = "registry.example.com:5000";
  c.registry.username = "deployer";
  c.secrets[c.registry.password_secret] = kPassword;
  return c;
}

struct RegistryFixture : ::testing::Test {
  void SetUp() override { setenv("PODLIFT_DOCKER", "/usr/bin/docker", 1); }
  FakeProcessRunner local;
  FakeRemote remote;
};

TEST(RegistryNames, TheImageRefCarriesTheRegistry) {
  Config c = registry_config();
  EXPECT_EQ(image_ref(c, "abc"), "registry.example.com:5000/acme/web:abc");
  c.registry.server.clear();
  EXPECT_EQ(image_ref(c, "abc"), "acme/web:abc");
}

TEST(RegistryErrors, UnreachableIsToldApartFromRefused) {
  EXPECT_TRUE(registry_unreachable(
      "Get \"https://10.0.0.5:5000/v2/\": dial tcp 10.0.0.5:5000: connect: connection refused"));
  EXPECT_TRUE(registry_unreachable("dial tcp: lookup registry.invalid: no such host"));
  EXPECT_TRUE(registry_unreachable("net/http: TLS handshake timeout"));
  EXPECT_FALSE(registry_unreachable(
      "login attempt to https://10.0.0.5:5000/v2/ failed with status: 401 Unauthorized"));
  EXPECT_FALSE(registry_unreachable("denied: requested access to the resource is denied"));
}

TEST_F(RegistryFixture, ThePasswordGoesOnStdinNeverInArguments) {
  Config c = registry_config();
  {
    Registry r(c, local);
    r.login();
    r.push("registry.example.com:5000/acme/web:abc");
    r.pull(remote, "registry.example.com:5000/acme/web:abc");
  }
  ASSERT_EQ(local.calls.size(), 2u);
  EXPECT_NE(local.calls[0].command.find("login --username deployer --password-stdin "
                                        "registry.example.com:5000"),
            std::string::npos)
      << local.calls[0].command;
  EXPECT_NE(local.calls[0].command.find("--config /"), std::string::npos);  // a private config
  EXPECT_EQ(local.calls[0].stdin_data, kPassword);
  EXPECT_NE(local.calls[1].command.find("push registry.example.com:5000/acme/web:abc"),
            std::string::npos);
  ASSERT_EQ(remote.calls.size(), 1u);
  EXPECT_EQ(remote.calls[0].stdin_data, kPassword);
  for (const auto& call : local.calls) EXPECT_EQ(call.command.find(kPassword), std::string::npos);
  EXPECT_EQ(remote.calls[0].command.find(kPassword), std::string::npos);
  // The server logs in with a throwaway config dir; user values are positional parameters.
  EXPECT_NE(remote.calls[0].command.find("mktemp -d"), std::string::npos);
  EXPECT_NE(remote.calls[0].command.find(" sh deployer registry.example.com:5000 "),
            std::string::npos)
      << remote.calls[0].command;
  // Registered for redaction: it can never reach the terminal.
  EXPECT_EQ(redact("error: " + kPassword), "error: [redacted]");
}

TEST_F(RegistryFixture, TheBuildBoxConfigDirIsRemovedAfterwards) {
  Config c = registry_config();
  std::string dir;
  {
    Registry r(c, local);
    r.login();
    const std::string& cmd = local.calls[0].command;
    auto at = cmd.find("--config ") + 9;
    dir = cmd.substr(at, cmd.find(' ', at) - at);
    EXPECT_TRUE(std::filesystem::is_directory(dir)) << dir;
  }
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST_F(RegistryFixture, ARefusedLoginIsAPlainErrorAndADownRegistryMayFallBack) {
  Config c = registry_config();
  local.on("/usr/bin/docker --config", 1, "",
           "Error response from daemon: login attempt to https://registry.example.com:5000/v2/ "
           "failed with status: 401 Unauthorized");
  Registry refused(c, local);
  try {
    refused.login();
    FAIL();
  } catch (const RegistryUnreachable&) {
    FAIL() << "a refused password must not look like a registry that is down";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refused the login of user deployer"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("PODLIFT_REGISTRY_PASSWORD"), std::string::npos);
  }

  FakeProcessRunner down;
  down.on("/usr/bin/docker --config", 1, "",
          "Error response from daemon: Get \"https://registry.example.com:5000/v2/\": dial tcp "
          "10.0.0.5:5000: connect: connection refused");
  Registry unreachable(c, down);
  EXPECT_THROW(unreachable.login(), RegistryUnreachable);
}

TEST_F(RegistryFixture, APasswordCommandSuppliesThePassword) {
  Config c = registry_config();
  c.secrets.clear();
  c.registry.password_command = "aws ecr get-login-password --region eu-west-1";
  local.on("bash -c", 0, "token-from-the-cloud-cli\n");
  Registry r(c, local);
  r.login();
  ASSERT_EQ(local.calls.size(), 2u);
  EXPECT_EQ(local.calls[0].command, "bash -c 'aws ecr get-login-password --region eu-west-1'");
  EXPECT_EQ(local.calls[1].stdin_data, "token-from-the-cloud-cli");

  FakeProcessRunner failing;
  failing.on("bash -c", 255, "", "Unable to locate credentials\n");
  Registry bad(c, failing);
  try {
    bad.login();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("password_command failed (exit 255): Unable to locate"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(RegistryFixture, WithoutAUserThereIsNoLogin) {
  Config c = registry_config();
  c.registry.username.clear();
  Registry r(c, local);
  r.login();
  r.pull(remote, "registry.example.com:5000/acme/web:abc");
  EXPECT_TRUE(local.calls.empty());
  ASSERT_EQ(remote.calls.size(), 1u);
  EXPECT_TRUE(remote.calls[0].stdin_data.empty());
}

TEST_F(RegistryFixture, AServerThatCannotReachTheRegistryIsNamed) {
  Config c = registry_config();
  remote.on("sh -c", 1, "",
            "Error response from daemon: Get \"https://registry.example.com:5000/v2/\": dial tcp: "
            "lookup registry.example.com: no such host\n");
  Registry r(c, local);
  r.login();
  try {
    r.pull(remote, "registry.example.com:5000/acme/web:abc");
    FAIL();
  } catch (const RegistryUnreachable& e) {
    EXPECT_NE(std::string(e.what()).find("root@fake:22 cannot reach registry"), std::string::npos)
        << e.what();
  }
}

// ---- config

struct TempConfig {
  std::string dir;
  explicit TempConfig(const std::string& yaml, const std::string& dotenv = "") {
    dir = (std::filesystem::temp_directory_path() / "podlift-regcfg-XXXXXX").string();
    dir = mkdtemp(dir.data());
    std::ofstream(dir + "/podlift.yml") << yaml;
    if (!dotenv.empty()) std::ofstream(dir + "/.env") << dotenv;
  }
  ~TempConfig() { std::filesystem::remove_all(dir); }
  Config load() {
    std::map<std::string, std::string> env;
    LoadOptions o;
    o.environment = &env;
    return load_config(dir + "/podlift.yml", o);
  }
  std::string error() {
    try {
      load();
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
};

const std::string kBase = "service: web\nservers: [192.0.2.1]\n";

TEST(RegistryConfig, ThePasswordComesFromItsSecretAndIsRedacted) {
  TempConfig t(kBase + "registry:\n  server: ghcr.io\n  username: me\n",
               "PODLIFT_REGISTRY_PASSWORD=ghp_s3cr3t-token\n");
  Config c = t.load();
  EXPECT_EQ(registry_password_value(c), "ghp_s3cr3t-token");
  EXPECT_EQ(c.registry.fallback, "none");
  for (const auto& line : describe(c)) {
    EXPECT_EQ(line.value.find("ghp_s3cr3t-token"), std::string::npos) << line.key;
  }
}

TEST(RegistryConfig, MistakesAreNamedWithTheirPlace) {
  EXPECT_NE(
      TempConfig(kBase + "registry:\n  server: ghcr.io\n  username: me\n  password: hunter2\n")
          .error()
          .find("podlift.yml:6:3: \"registry.password\" would put the password in "
                "podlift.yml"),
      std::string::npos);
  EXPECT_NE(TempConfig(kBase + "registry:\n  server: ghcr.io\n  username: me\n")
                .error()
                .find("registry user \"me\" has no password: set PODLIFT_REGISTRY_PASSWORD"),
            std::string::npos);
  EXPECT_NE(
      TempConfig(kBase + "registry:\n  server: https://ghcr.io\n")
          .error()
          .find("podlift.yml:4:11: \"registry.server\" must be a host[:port] without a scheme"),
      std::string::npos);
  EXPECT_NE(TempConfig(kBase + "registry:\n  server: ghcr.io\n  fallback: scp\n")
                .error()
                .find("\"registry.fallback\" must be \"none\" or \"ssh\""),
            std::string::npos);
  EXPECT_NE(TempConfig(kBase + "registry:\n  username: me\n")
                .error()
                .find("\"registry.username\" needs \"registry.server\""),
            std::string::npos);
  EXPECT_NE(TempConfig(kBase + "registry:\n  sever: ghcr.io\n")
                .error()
                .find("unknown key \"sever\" in \"registry\" (did you mean \"server\"?)"),
            std::string::npos);
  EXPECT_NE(TempConfig(kBase + "ship:\n  compression_level: 12\n")
                .error()
                .find("\"ship.compression_level\" must be a gzip level from 0 (none) to 9"),
            std::string::npos);
  EXPECT_NE(TempConfig(kBase + "ship:\n  trim_layers: maybe\n")
                .error()
                .find("expected true or false for \"ship.trim_layers\""),
            std::string::npos);
}

TEST(RegistryConfig, AHostDockerWouldTakeForAHubUserIsRefused) {
  EXPECT_NE(TempConfig(kBase + "registry:\n  server: myreg\n")
                .error()
                .find("\"registry.server\" must contain a '.' or a ':port' (or be localhost)"),
            std::string::npos);
  EXPECT_EQ(TempConfig(kBase + "registry:\n  server: localhost\n").error(), "");
  EXPECT_EQ(TempConfig(kBase + "registry:\n  server: myreg:5000\n").error(), "");
}

TEST(RegistryConfig, ATokenPastedAsTheSecretNameIsRefusedAndNeverEchoed) {
  for (std::string token : {"ghp_R3alT0kenV4lue9876", "p@ss w0rd!"}) {
    std::string err = TempConfig(kBase +
                                 "registry:\n  server: ghcr.io\n  username: me\n"
                                 "  password_secret: \"" +
                                 token + "\"\n")
                          .error();
    EXPECT_NE(err.find("must be the NAME of a variable"), std::string::npos) << err;
    EXPECT_EQ(err.find(token), std::string::npos) << err;
  }
}

TEST(RegistryConfig, AnEmptyPasswordIsNoPassword) {
  EXPECT_NE(TempConfig(kBase + "registry:\n  server: ghcr.io\n  username: me\n",
                       "PODLIFT_REGISTRY_PASSWORD=\n")
                .error()
                .find("has no password"),
            std::string::npos);
  EXPECT_NE(TempConfig(kBase + "registry:\n  fallback: ssh\n")
                .error()
                .find("\"registry.fallback\" needs \"registry.server\""),
            std::string::npos);
}

TEST(RegistryNames, AnImageThatNamesTheRegistryIsNotPrefixedTwice) {
  Config c = registry_config();
  c.registry.server = "ghcr.io";
  c.image = "ghcr.io/me/web";
  EXPECT_EQ(image_ref(c, "abc"), "ghcr.io/me/web:abc");
}

TEST(RegistryConfig, AMissingPasswordIsReportedNotFatalForValidate) {
  TempConfig t(kBase + "registry:\n  server: ghcr.io\n  username: me\n");
  std::map<std::string, std::string> env;
  LoadOptions o;
  o.environment = &env;
  o.require_secrets = false;
  Config c = load_config(t.dir + "/podlift.yml", o);
  EXPECT_EQ(registry_password_value(c), "");
}

TEST_F(RegistryFixture, TlsTroubleIsNotBlamedOnThePassword) {
  Config c = registry_config();
  local.on("/usr/bin/docker --config", 1, "",
           "Error response from daemon: Get \"https://registry.example.com:5000/v2/\": x509: "
           "certificate signed by unknown authority");
  Registry r(c, local);
  try {
    r.login();
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find("refused the login"), std::string::npos) << what;
    EXPECT_NE(what.find("/etc/docker/certs.d/registry.example.com:5000/ca.crt"), std::string::npos)
        << what;
  }
}

TEST_F(RegistryFixture, TheDockerConfigIsSeededSoNoCredentialHelperIsPicked) {
  Config c = registry_config();
  Registry r(c, local);
  r.login();
  r.pull(remote, "registry.example.com:5000/acme/web:abc");
  EXPECT_NE(remote.calls[0].command.find("podlift.invalid"), std::string::npos);
}

TEST(RegistryConfig, ShipSettingsParse) {
  TempConfig t(kBase + "ship:\n  trim_layers: off\n  compression_level: 0\n  idle_timeout: 5s\n");
  Config c = t.load();
  EXPECT_FALSE(c.ship.trim_layers);
  EXPECT_EQ(c.ship.compression_level, 0);
  EXPECT_EQ(c.ship.idle_timeout, std::chrono::seconds(5));
}

}  // namespace
}  // namespace podlift
