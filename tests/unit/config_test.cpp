// Tests for the config loader: the YAML format, every kind of problem with its exact position,
// interpolation, secrets, PODLIFT_* overrides, origins, describe() redaction, durations, .env
// parsing and the init template.
#include "core/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace podlift {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  // Each test runs inside its own temp directory and loads "podlift.yml" by that relative path,
  // so positions and origins read "podlift.yml:L:C".
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "podlift-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    old_cwd_ = fs::current_path();
    fs::current_path(dir_);
    options_.environment = &env_;
    options_.use_process_environment = false;
  }
  void TearDown() override {
    fs::current_path(old_cwd_);
    fs::remove_all(dir_);
  }

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(name, std::ios::binary) << text;
    return name;
  }

  Config load(const std::string& yaml) { return load_config(write("podlift.yml", yaml), options_); }

  // The ConfigError message of loading `yaml`.
  std::string error(const std::string& yaml) {
    try {
      load(yaml);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected a ConfigError for:\n" << yaml;
    return "";
  }

  std::string dir_;
  fs::path old_cwd_;
  std::map<std::string, std::string> env_;
  LoadOptions options_;
};

const char* const kMinimal = "service: hello\nservers: [10.0.0.5]\n";

const ConfigLine* find_line(const std::vector<ConfigLine>& lines, const std::string& key) {
  for (const auto& line : lines) {
    if (line.key == key) return &line;
  }
  return nullptr;
}

TEST_F(ConfigTest, LoadsAFullFile) {
  env_["DATABASE_PASSWORD"] = "hunter2";
  Config c = load(R"(service: hello
image: podlift/hello-web
build: {context: ., dockerfile: Dockerfile, args: {KEY: value}}
app_port: 8000
healthcheck: {path: /up, host: example.com, interval: 1s, timeout: 2s, deadline: 60s}
env:
  clear: {LOG_LEVEL: info}
  secret: [DATABASE_PASSWORD]
servers:
  - host: 10.0.0.5
    user: deploy
    port: 2222
    identity_file: ~/.ssh/id_ed25519
  - 10.0.0.6            # a bare string is a host with defaults
nginx: {server_name: example.com, listen: 8080}
ssh: {known_hosts: ~/.ssh/known_hosts, connect_timeout: 10s, command_timeout: 5m}
retain: 7
stop_timeout: 15s
)");
  EXPECT_EQ(c.path, (fs::current_path() / "podlift.yml").lexically_normal().string());
  EXPECT_EQ(c.dir, fs::current_path().lexically_normal().string());
  EXPECT_EQ(c.service, "hello");
  EXPECT_EQ(c.image, "podlift/hello-web");
  EXPECT_EQ(c.build.context, ".");
  EXPECT_EQ(c.build.dockerfile, "Dockerfile");
  EXPECT_EQ(c.build.args, (std::map<std::string, std::string>{{"KEY", "value"}}));
  EXPECT_EQ(c.app_port, 8000);
  EXPECT_EQ(c.healthcheck.path, "/up");
  EXPECT_EQ(c.healthcheck.host, "example.com");
  EXPECT_EQ(c.healthcheck.interval, Millis(1000));
  EXPECT_EQ(c.healthcheck.timeout, Millis(2000));
  EXPECT_EQ(c.healthcheck.deadline, Millis(60000));
  EXPECT_EQ(c.env.clear, (std::map<std::string, std::string>{{"LOG_LEVEL", "info"}}));
  EXPECT_EQ(c.env.secret, std::vector<std::string>{"DATABASE_PASSWORD"});
  EXPECT_EQ(c.secrets.at("DATABASE_PASSWORD"), "hunter2");
  ASSERT_EQ(c.servers.size(), 2u);
  EXPECT_EQ(c.servers[0].host, "10.0.0.5");
  EXPECT_EQ(c.servers[0].user, "deploy");
  EXPECT_EQ(c.servers[0].port, 2222);
  EXPECT_EQ(c.servers[0].identity_file, "~/.ssh/id_ed25519");
  EXPECT_EQ(c.servers[1].host, "10.0.0.6");
  EXPECT_EQ(c.servers[1].user, "root");
  EXPECT_EQ(c.servers[1].port, 22);
  EXPECT_EQ(c.servers[1].identity_file, "");
  EXPECT_EQ(c.servers[1].role, "web");
  EXPECT_EQ(c.nginx.server_name, "example.com");
  EXPECT_EQ(c.nginx.listen, 8080);
  EXPECT_EQ(c.ssh.known_hosts, "~/.ssh/known_hosts");
  EXPECT_EQ(c.ssh.connect_timeout, Millis(10000));
  EXPECT_EQ(c.ssh.command_timeout, Millis(300000));
  EXPECT_EQ(c.retain, 7);
  EXPECT_EQ(c.stop_timeout, Millis(15000));
}

TEST_F(ConfigTest, DefaultsApplyToWhatIsNotWritten) {
  Config c = load(kMinimal);
  EXPECT_EQ(c.image, "podlift/hello");
  EXPECT_EQ(c.app_port, 3000);
  EXPECT_EQ(c.build.context, ".");
  EXPECT_EQ(c.build.dockerfile, "Dockerfile");
  EXPECT_EQ(c.healthcheck.path, "/up");
  EXPECT_EQ(c.healthcheck.host, "");
  EXPECT_EQ(c.healthcheck.deadline, Millis(60000));
  EXPECT_EQ(c.nginx.server_name, "_");
  EXPECT_EQ(c.nginx.listen, 80);
  EXPECT_EQ(c.ssh.known_hosts, "~/.ssh/known_hosts");
  EXPECT_EQ(c.retain, 5);
  EXPECT_EQ(c.stop_timeout, Millis(10000));
  EXPECT_TRUE(c.env.clear.empty());
  EXPECT_TRUE(c.env.secret.empty());
  EXPECT_EQ(c.origin_of("retain").text, "default");
  EXPECT_EQ(c.origin_of("image").text, "default");
  EXPECT_EQ(c.origin_of("no.such.key").text, "default");
}

TEST_F(ConfigTest, RecordsWhereEachValueWasWritten) {
  Config c = load(R"(service: hello
healthcheck:
  deadline: 2m
servers:
  - host: a.example.com
    port: 2200
  - b.example.com
)");
  EXPECT_EQ(c.origin_of("service").text, "podlift.yml:1:1");
  EXPECT_EQ(c.origin_of("healthcheck.deadline").text, "podlift.yml:3:3");
  EXPECT_EQ(c.origin_of("healthcheck.interval").text, "default");
  EXPECT_EQ(c.origin_of("servers[0].host").text, "podlift.yml:5:5");
  EXPECT_EQ(c.origin_of("servers[0].port").text, "podlift.yml:6:5");
  EXPECT_EQ(c.origin_of("servers[0].user").text, "default");
  EXPECT_EQ(c.origin_of("servers[1].host").text, "podlift.yml:7:5");
  EXPECT_EQ(c.servers[0].origin.text, "podlift.yml:5:5");
  EXPECT_EQ(c.servers[1].origin.text, "podlift.yml:7:5");
}

TEST_F(ConfigTest, PositionsUseThePathAsGiven) {
  fs::create_directory("sub");
  write("sub/podlift.yml", "service: hello\nservers: [a]\nretian: 3\n");
  try {
    load_config("./sub/podlift.yml", options_);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "./sub/podlift.yml:3:1: unknown key \"retian\" (did you mean \"retain\"?)");
  }
  write("sub/podlift.yml", kMinimal);
  Config c = load_config(dir_ + "/sub/podlift.yml", options_);
  EXPECT_EQ(c.origin_of("service").text, dir_ + "/sub/podlift.yml:1:1");
  EXPECT_EQ(c.path, fs::path(dir_ + "/sub/podlift.yml").lexically_normal().string());
  EXPECT_EQ(c.dir, fs::path(dir_ + "/sub").lexically_normal().string());
}

TEST_F(ConfigTest, MissingFileSuggestsInit) {
  std::string path = dir_ + "/nope.yml";
  try {
    load_config(path, options_);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": no such file (run `podlift init` to create one)");
    EXPECT_EQ(e.code(), ExitCode::kConfig);
  }
}

TEST_F(ConfigTest, SyntaxErrorHasItsPosition) {
  EXPECT_EQ(error("service: hello\nservers: [a\nretain: 3\n"),
            "podlift.yml:3:7: end of sequence flow not found");
  EXPECT_EQ(error("service: hello\n  retain: 3\n"), "podlift.yml:2:9: illegal map value");
}

TEST_F(ConfigTest, UnknownKeySuggestsTheNearestKey) {
  EXPECT_EQ(error("service: hello\nservers: [a]\nhealtcheck: {path: /x}\n"),
            "podlift.yml:3:1: unknown key \"healtcheck\" (did you mean \"healthcheck\"?)");
  EXPECT_EQ(error("service: hello\nservers: [a]\nhealthcheck:\n  pth: /x\n"),
            "podlift.yml:4:3: unknown key \"pth\" in \"healthcheck\" (did you mean \"path\"?)");
  EXPECT_EQ(error("service: hello\nservers:\n  - host: a\n    usr: x\n"),
            "podlift.yml:4:5: unknown key \"usr\" in \"servers[0]\" (did you mean \"user\"?)");
  EXPECT_EQ(error(std::string(kMinimal) + "colour: blue\n"),
            "podlift.yml:3:1: unknown key \"colour\"");
  EXPECT_EQ(error(std::string(kMinimal) + "env:\n  LOG_LEVEL: info\n"),
            "podlift.yml:4:3: unknown key \"LOG_LEVEL\" in \"env\" (variables go under \"clear:\", "
            "names of secrets under \"secret:\")");
}

TEST_F(ConfigTest, DuplicateKeyIsReported) {
  EXPECT_EQ(error(std::string(kMinimal) + "retain: 3\nretain: 4\n"),
            "podlift.yml:4:1: duplicate key \"retain\"");
}

TEST_F(ConfigTest, WrongTypesNameTheKey) {
  EXPECT_EQ(error("service: hello\nservers: [a]\napp_port: abc\n"),
            "podlift.yml:3:11: expected a number for \"app_port\", got \"abc\"");
  EXPECT_EQ(error("service: hello\nservers: {host: a}\n"),
            "podlift.yml:2:10: expected a list for \"servers\", got a mapping");
  EXPECT_EQ(error("service: [a, b]\nservers: [a]\n"),
            "podlift.yml:1:10: expected a single value for \"service\", got a list");
  EXPECT_EQ(error(std::string(kMinimal) + "healthcheck: /up\n"),
            "podlift.yml:3:14: expected a mapping for \"healthcheck\", got \"/up\"");
  EXPECT_EQ(error(std::string(kMinimal) + "stop_timeout: soon\n"),
            "podlift.yml:3:15: expected a duration like \"500ms\", \"10s\", \"5m\" or \"1h\" for "
            "\"stop_timeout\", got \"soon\"");
  EXPECT_EQ(error("- a\n- b\n"),
            "podlift.yml:1:1: expected a mapping of settings at the top level, got a list");
}

TEST_F(ConfigTest, RequiredKeys) {
  EXPECT_EQ(error("servers: [a]\n"), "podlift.yml:1:1: missing required key \"service\"");
  EXPECT_EQ(error("service: hello\n"),
            "podlift.yml:1:1: missing required key \"servers\" (at least one server)");
  EXPECT_EQ(error("service:\nservers: [a]\n"), "podlift.yml:1:1: \"service\" must not be empty");
  EXPECT_EQ(error("service: hello\nservers:\n"),
            "podlift.yml:2:1: \"servers\" must list at least one server");
  EXPECT_EQ(error("service: hello\nservers: []\n"),
            "podlift.yml:2:10: \"servers\" must list at least one server");
  EXPECT_EQ(error("service: hello\nservers:\n  - user: deploy\n"),
            "podlift.yml:3:5: missing required key \"host\" in \"servers[0]\"");
  EXPECT_EQ(error(""),
            "podlift.yml:1:1: missing required key \"service\"\n"
            "podlift.yml:1:1: missing required key \"servers\" (at least one server)");
}

TEST_F(ConfigTest, ReportsEveryProblemAtOnce) {
  std::string message = error(R"(service: Hello World
app_port: 0
healtcheck: {}
servers:
  - host: "bad host"
    port: 99999
retain: 0
)");
  EXPECT_EQ(
      message,
      "podlift.yml:1:10: \"service\" must be 1 to 63 characters of a-z, 0-9, '_' and '-', "
      "starting and ending with a letter or digit, got \"Hello World\"\n"
      "podlift.yml:2:11: \"app_port\" must be a port between 1 and 65535, got \"0\"\n"
      "podlift.yml:3:1: unknown key \"healtcheck\" (did you mean \"healthcheck\"?)\n"
      "podlift.yml:5:11: \"servers[0].host\" must be a host name, IPv4 or IPv6 address, got "
      "\"bad host\"\n"
      "podlift.yml:6:11: \"servers[0].port\" must be a port between 1 and 65535, got \"99999\"\n"
      "podlift.yml:7:9: \"retain\" must be at least 1, got \"0\"");
}

TEST_F(ConfigTest, CommaSeparatedListIsAnError) {
  EXPECT_EQ(error("service: hello\nservers: 10.0.0.5, 10.0.0.6\n"),
            "podlift.yml:2:10: \"servers\" must be a YAML list, not a comma-separated string "
            "(write each item on its own \"- \" line)");
  EXPECT_EQ(error(std::string(kMinimal) + "env:\n  secret: A,B\n"),
            "podlift.yml:4:11: \"env.secret\" must be a YAML list, not a comma-separated string "
            "(write each item on its own \"- \" line)");
}

TEST_F(ConfigTest, ServiceNamesMustEndWithALetterOrDigit) {
  // Docker refuses image names ending in "_" or "-", so the loader does too.
  EXPECT_NE(error("service: x_\nservers: [10.0.0.5]\n").find("ending with a letter or digit"),
            std::string::npos);
  EXPECT_NE(error("service: x-\nservers: [10.0.0.5]\n").find("ending with a letter or digit"),
            std::string::npos);
}

TEST_F(ConfigTest, ServerListedTwiceIsAnError) {
  EXPECT_NE(error("service: hello\nservers: [10.0.0.5, 10.0.0.5]\n").find("listed twice"),
            std::string::npos);
}

TEST_F(ConfigTest, ScalarWithoutCommaIsAOneItemList) {
  env_["TOKEN"] = "t";
  Config c = load("service: hello\nservers: 10.0.0.5\nenv:\n  secret: TOKEN\n");
  ASSERT_EQ(c.servers.size(), 1u);
  EXPECT_EQ(c.servers[0].host, "10.0.0.5");
  EXPECT_EQ(c.env.secret, std::vector<std::string>{"TOKEN"});
}

TEST_F(ConfigTest, HostsAcceptNamesAndIpLiterals) {
  Config c = load("service: a-b_1\nservers: [\"[2001:db8::1]\", \"::1\", web-1.example.com]\n");
  ASSERT_EQ(c.servers.size(), 3u);
  EXPECT_EQ(c.servers[0].host, "2001:db8::1");
  EXPECT_EQ(c.servers[1].host, "::1");
  EXPECT_EQ(c.servers[2].host, "web-1.example.com");
}

TEST_F(ConfigTest, ValidatesValues) {
  auto one = [&](const std::string& extra) { return error(std::string(kMinimal) + extra); };
  EXPECT_NE(one("nginx: {server_name: \"$host\"}\n").find("must not contain"), std::string::npos);
  EXPECT_NE(one("stop_timeout: 9999h\n").find("must be at most 1 week"), std::string::npos);
  EXPECT_EQ(one("healthcheck: {path: up}\n"),
            "podlift.yml:3:21: \"healthcheck.path\" must start with \"/\", got \"up\"");
  EXPECT_EQ(one("healthcheck: {path: \"/a b\"}\n"),
            "podlift.yml:3:21: \"healthcheck.path\" must not contain whitespace, got \"/a b\"");
  EXPECT_EQ(one("healthcheck: {timeout: 0s}\n"),
            "podlift.yml:3:24: \"healthcheck.timeout\" must be longer than 0");
  EXPECT_EQ(one("nginx: {server_name: \"a;b\"}\n"),
            "podlift.yml:3:22: \"nginx.server_name\" must not contain whitespace, quotes or any of "
            "; { } # \\ $, got \"a;b\"");
  EXPECT_EQ(one("nginx: {listen: 0}\n"),
            "podlift.yml:3:17: \"nginx.listen\" must be a port between 1 and 65535, got \"0\"");
  EXPECT_EQ(one("build: {context: ../other}\n"),
            "podlift.yml:3:18: \"build.context\" must not contain \"..\", got \"../other\"");
  EXPECT_EQ(one("build: {dockerfile: docker/../../Dockerfile}\n"),
            "podlift.yml:3:21: \"build.dockerfile\" must not contain \"..\", got "
            "\"docker/../../Dockerfile\"");
  EXPECT_EQ(one("build: {context: /abs}\n"),
            "podlift.yml:3:18: \"build.context\" must be a relative path, got \"/abs\"");
  EXPECT_EQ(one("build: {args: {1X: y}}\n"),
            "podlift.yml:3:16: invalid name \"1X\" in \"build.args\" (letters, digits and '_', not "
            "starting with a digit)");
  EXPECT_EQ(one("env: {clear: {A-B: y}}\n"),
            "podlift.yml:3:15: invalid name \"A-B\" in \"env.clear\" (letters, digits and '_', not "
            "starting with a digit)");
  EXPECT_EQ(one("env: {secret: [A-B]}\n"),
            "podlift.yml:3:16: invalid secret name \"A-B\" (letters, digits and '_', not starting "
            "with a digit)");
  EXPECT_EQ(one("retain: -2\n"), "podlift.yml:3:9: \"retain\" must be at least 1, got \"-2\"");
  EXPECT_EQ(
      error("service: hello\nservers:\n  - host: a\n    user: \"-oProxy\"\n"),
      "podlift.yml:4:11: \"servers[0].user\" must be a user name (letters, digits and . _ -), "
      "got \"-oProxy\"");
  EXPECT_EQ(error("service: hello\nservers: [\"deploy@a\"]\n"),
            "podlift.yml:2:11: \"servers[0].host\" must be a host only; write the user in "
            "\"user:\", got \"deploy@a\"");
  EXPECT_EQ(error("service: hello\nservers: [\"a:2222\"]\n"),
            "podlift.yml:2:11: \"servers[0].host\" must be a host only; write the port in "
            "\"port:\", got \"a:2222\"");
  EXPECT_EQ(error("service: hello\nservers: [\"-oProxyCommand=x\"]\n"),
            "podlift.yml:2:11: \"servers[0].host\" must be a host name, IPv4 or IPv6 address, got "
            "\"-oProxyCommand=x\"");
}

TEST_F(ConfigTest, InterpolatesFromEnvironmentThenDotenv) {
  write(".env", "PORT=9000\nHOST=from-dotenv\nLEVEL=debug\n");
  env_["HOST"] = "from-env";
  Config c = load(R"(service: hello
app_port: ${PORT}
healthcheck: {host: "${HOST}"}
env:
  clear:
    LOG_LEVEL: ${LEVEL}
    PRICE: "$$5 and $${NOT_A_VAR} and $ alone"
servers: [a]
)");
  EXPECT_EQ(c.app_port, 9000);
  EXPECT_EQ(c.healthcheck.host, "from-env");
  EXPECT_EQ(c.env.clear.at("LOG_LEVEL"), "debug");
  EXPECT_EQ(c.env.clear.at("PRICE"), "$5 and ${NOT_A_VAR} and $ alone");
}

TEST_F(ConfigTest, KeysAreNotInterpolated) {
  EXPECT_EQ(error(std::string(kMinimal) + "env:\n  clear:\n    ${KEY}: kept\n"),
            "podlift.yml:5:5: invalid name \"${KEY}\" in \"env.clear\" (letters, digits and '_', "
            "not starting with a digit)");
}

TEST_F(ConfigTest, UnsetVariableIsAnErrorAtItsValue) {
  EXPECT_EQ(error("service: hello\nservers: [a]\nimage: \"reg/${MISSING}\"\n"),
            "podlift.yml:3:8: variable \"MISSING\" used in \"image\" is not set (set it in the "
            "environment or in .env)");
  EXPECT_EQ(error("service: hello\nservers: [\"${NOPE}\"]\n"),
            "podlift.yml:2:11: variable \"NOPE\" used in \"servers[0].host\" is not set (set it in "
            "the environment or in .env)");
  EXPECT_EQ(error(std::string(kMinimal) + "image: \"a${oops\"\n"),
            "podlift.yml:3:8: unterminated \"${\" in \"image\" (write \"$$\" for a \"$\")");
}

TEST_F(ConfigTest, SecretsComeFromEnvironmentThenDotenv) {
  write(".env", "A=from-dotenv\nB=dotenv-b\n");
  env_["A"] = "from-env";
  Config c = load(std::string(kMinimal) + "env:\n  secret:\n    - A\n    - B\n");
  EXPECT_EQ(c.secrets.at("A"), "from-env");
  EXPECT_EQ(c.secrets.at("B"), "dotenv-b");
  auto lines = describe(c);
  EXPECT_EQ(find_line(lines, "env.secret.A")->origin, "env");
  EXPECT_EQ(find_line(lines, "env.secret.B")->origin, ".env");
}

TEST_F(ConfigTest, MissingSecretIsAnErrorUnlessNotRequired) {
  std::string yaml = std::string(kMinimal) + "env:\n  secret:\n    - DATABASE_PASSWORD\n";
  EXPECT_EQ(
      error(yaml),
      "podlift.yml:5:7: secret \"DATABASE_PASSWORD\" is not set (set it in the environment or "
      "in \".env\")");
  options_.require_secrets = false;
  Config c = load(yaml);
  EXPECT_TRUE(c.secrets.empty());
  EXPECT_EQ(find_line(describe(c), "env.secret.DATABASE_PASSWORD")->origin, "missing");
}

TEST_F(ConfigTest, NameInBothClearAndSecretIsAnError) {
  env_["X"] = "1";
  EXPECT_EQ(error(std::string(kMinimal) + "env:\n  clear: {X: a}\n  secret: [X]\n"),
            "podlift.yml:5:12: \"X\" is in both \"env.clear\" and \"env.secret\"");
}

TEST_F(ConfigTest, ErrorsNeverShowSecretValues) {
  env_["DATABASE_PASSWORD"] = "s3cr3t-value";
  std::string message =
      error(std::string(kMinimal) +
            "app_port: ${DATABASE_PASSWORD}\nenv: {secret: [DATABASE_PASSWORD]}\n");
  EXPECT_EQ(message.find("s3cr3t-value"), std::string::npos) << message;
  EXPECT_NE(message.find("got \"[redacted]\""), std::string::npos) << message;
}

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
  env_["PODLIFT_RETAIN"] = "3";
  env_["PODLIFT_HEALTHCHECK_DEADLINE"] = "2m";
  env_["PODLIFT_SERVICE"] = "other";
  Config c = load("service: hello\nservers: [a]\nretain: 9\n");
  EXPECT_EQ(c.retain, 3);
  EXPECT_EQ(c.origin_of("retain").text, "env PODLIFT_RETAIN");
  EXPECT_EQ(c.healthcheck.deadline, Millis(120000));
  EXPECT_EQ(c.origin_of("healthcheck.deadline").text, "env PODLIFT_HEALTHCHECK_DEADLINE");
  EXPECT_EQ(c.service, "other");
  EXPECT_EQ(c.image, "podlift/other");  // derived from the final service
  EXPECT_EQ(c.origin_of("image").text, "default");
}

TEST_F(ConfigTest, EnvironmentOverrideDoesNotReplaceAnExplicitImage) {
  env_["PODLIFT_SERVICE"] = "other";
  Config c = load("service: hello\nimage: mine\nservers: [a]\n");
  EXPECT_EQ(c.image, "mine");
}

TEST_F(ConfigTest, BadOverrideNamesTheVariable) {
  env_["PODLIFT_APP_PORT"] = "http";
  EXPECT_EQ(error(kMinimal),
            "environment variable PODLIFT_APP_PORT: expected a number for \"app_port\", got "
            "\"http\"");
}

TEST_F(ConfigTest, ProcessEnvironmentIsUsedWhenNoMapIsGiven) {
  ::setenv("PODLIFT_TEST_CONFIG_VAR", "1234", 1);
  ::setenv("PODLIFT_NGINX_LISTEN", "8081", 1);
  LoadOptions process;
  Config c = load_config(
      write("podlift.yml", std::string(kMinimal) + "app_port: ${PODLIFT_TEST_CONFIG_VAR}\n"),
      process);
  ::unsetenv("PODLIFT_TEST_CONFIG_VAR");
  ::unsetenv("PODLIFT_NGINX_LISTEN");
  EXPECT_EQ(c.app_port, 1234);
  EXPECT_EQ(c.nginx.listen, 8081);
  EXPECT_EQ(c.origin_of("nginx.listen").text, "env PODLIFT_NGINX_LISTEN");
}

TEST(Settings, TableNamesEnvironmentVariables) {
  const auto& table = settings();
  ASSERT_EQ(table.size(), 38u);
  EXPECT_EQ(table.front().key, "service");
  EXPECT_EQ(table.front().env, "PODLIFT_SERVICE");
  bool found = false;
  for (const auto& s : table) {
    EXPECT_FALSE(s.help.empty()) << s.key;
    if (s.key == "healthcheck.deadline") {
      EXPECT_EQ(s.env, "PODLIFT_HEALTHCHECK_DEADLINE");
      found = true;
    }
    if (s.key == "watch.poll_interval") {
      EXPECT_EQ(s.env, "PODLIFT_WATCH_POLL_INTERVAL");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ConfigTest, DescribeListsEverySettingAndRedactsSecrets) {
  env_["DATABASE_PASSWORD"] = "correct-horse-battery";
  env_["PODLIFT_RETAIN"] = "2";
  Config c = load(R"(service: hello
build: {args: {VERSION: "1.2"}}
healthcheck: {interval: 500ms}
env:
  clear: {LOG_LEVEL: info, DSN: "postgres://u:${DATABASE_PASSWORD}@db"}
  secret: [DATABASE_PASSWORD]
servers:
  - host: 10.0.0.5
    user: deploy
)");
  auto lines = describe(c);
  ASSERT_GE(lines.size(), settings().size());
  for (size_t i = 0; i < settings().size(); ++i) EXPECT_EQ(lines[i].key, settings()[i].key);
  EXPECT_EQ(find_line(lines, "service")->value, "hello");
  EXPECT_EQ(find_line(lines, "service")->origin, "podlift.yml:1:1");
  EXPECT_EQ(find_line(lines, "image")->value, "podlift/hello");
  EXPECT_EQ(find_line(lines, "healthcheck.interval")->value, "500ms");
  EXPECT_EQ(find_line(lines, "healthcheck.deadline")->value, "1m");
  EXPECT_EQ(find_line(lines, "retain")->value, "2");
  EXPECT_EQ(find_line(lines, "retain")->origin, "env PODLIFT_RETAIN");
  EXPECT_EQ(find_line(lines, "servers[0].user")->value, "deploy");
  EXPECT_EQ(find_line(lines, "servers[0].port")->value, "22");
  EXPECT_EQ(find_line(lines, "servers[0].port")->origin, "default");
  EXPECT_EQ(find_line(lines, "build.args.VERSION")->value, "1.2");
  EXPECT_EQ(find_line(lines, "env.clear.LOG_LEVEL")->value, "info");
  EXPECT_EQ(find_line(lines, "env.clear.DSN")->value, "postgres://u:[redacted]@db");
  EXPECT_EQ(find_line(lines, "env.secret.DATABASE_PASSWORD")->value, "[redacted]");
  for (const auto& line : lines) {
    std::string all = line.key + " " + line.value + " " + line.origin;
    EXPECT_EQ(all.find("correct-horse-battery"), std::string::npos) << all;
  }
}

TEST(SetSetting, ParsesValidatesAndRecordsOrigin) {
  Config c;
  set_setting(c, "healthcheck.timeout", "750ms", "flag --timeout");
  EXPECT_EQ(c.healthcheck.timeout, Millis(750));
  EXPECT_EQ(c.origin_of("healthcheck.timeout").text, "flag --timeout");
  set_setting(c, "service", "api", "flag --service");
  EXPECT_EQ(c.image, "podlift/api");
  set_setting(c, "nginx.listen", "8443", "flag --listen");
  EXPECT_EQ(c.nginx.listen, 8443);
  try {
    set_setting(c, "retain", "zero", "flag --retain");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "expected a number for \"retain\", got \"zero\"");
  }
  EXPECT_EQ(c.retain, 5);
  EXPECT_EQ(c.origin_of("retain").text, "default");
  try {
    set_setting(c, "healthcheck.dealine", "1m", "flag");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "unknown setting \"healthcheck.dealine\" (did you mean \"healthcheck.deadline\"?)");
  }
  EXPECT_THROW(set_setting(c, "stop_timeout", "0", "flag"), ConfigError);
  EXPECT_THROW(set_setting(c, "service", "-bad", "flag"), ConfigError);
  EXPECT_THROW(set_setting(c, "nginx.server_name", "a}b", "flag"), ConfigError);
}

TEST(Durations, ParseAndFormat) {
  EXPECT_EQ(parse_duration("500ms"), Millis(500));
  EXPECT_EQ(parse_duration("2s"), Millis(2000));
  EXPECT_EQ(parse_duration("1m"), Millis(60000));
  EXPECT_EQ(parse_duration("1h"), Millis(3600000));
  EXPECT_EQ(parse_duration("30"), Millis(30000));
  EXPECT_EQ(parse_duration("0"), Millis(0));
  for (const char* bad :
       {"", "s", "1.5s", "-1s", "1d", "1 s", " 1s", "10sec", "1e3", "9999999999999h"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(format_duration(Millis(1000)), "1s");
  EXPECT_EQ(format_duration(Millis(500)), "500ms");
  EXPECT_EQ(format_duration(Millis(1500)), "1500ms");
  EXPECT_EQ(format_duration(Millis(120000)), "2m");
  EXPECT_EQ(format_duration(Millis(90000)), "90s");
  EXPECT_EQ(format_duration(Millis(3600000)), "1h");
  EXPECT_EQ(format_duration(Millis(0)), "0s");
  for (long long ms : {1LL, 999LL, 1000LL, 61000LL, 7200000LL, 86400000LL}) {
    EXPECT_EQ(parse_duration(format_duration(Millis(ms))), Millis(ms));
  }
}

TEST(Dotenv, ParsesTheUsualForms) {
  auto vars = parse_dotenv(
      "# a comment\n"
      "\n"
      "PLAIN=value\n"
      "export EXPORTED=yes\n"
      "  SPACED = padded  \n"
      "SINGLE='a $b \\n c' # trailing comment\n"
      "DOUBLE=\"line1\\nline2 \\\"q\\\" back\\\\slash\"\n"
      "COMMENTED=value # note\n"
      "HASH=a#b\n"
      "EMPTY=\n"
      "EQUALS=a=b\r\n"
      "PLAIN=overridden",
      ".env");
  EXPECT_EQ(vars.at("PLAIN"), "overridden");
  EXPECT_EQ(vars.at("EXPORTED"), "yes");
  EXPECT_EQ(vars.at("SPACED"), "padded");
  EXPECT_EQ(vars.at("SINGLE"), "a $b \\n c");
  EXPECT_EQ(vars.at("DOUBLE"), "line1\nline2 \"q\" back\\slash");
  EXPECT_EQ(vars.at("COMMENTED"), "value");
  EXPECT_EQ(vars.at("HASH"), "a#b");
  EXPECT_EQ(vars.at("EMPTY"), "");
  EXPECT_EQ(vars.at("EQUALS"), "a=b");
  EXPECT_EQ(vars.size(), 9u);
}

TEST(Dotenv, ReportsEveryBadLineWithoutItsValue) {
  try {
    parse_dotenv("GOOD=1\nno equals sign hunter2\n1BAD=x\nQ=\"open hunter2\nS='x' y\n", "app/.env");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    std::string message = e.what();
    EXPECT_EQ(message,
              "app/.env:2: expected NAME=VALUE\n"
              "app/.env:3: invalid variable name \"1BAD\" (letters, digits and '_', not starting "
              "with a digit)\n"
              "app/.env:4: unterminated double quote in the value of Q\n"
              "app/.env:5: unexpected text after the closing quote in the value of S");
    EXPECT_EQ(message.find("hunter2"), std::string::npos);
  }
}

TEST_F(ConfigTest, BadDotenvIsReportedByTheLoader) {
  write(".env", "oops\n");
  EXPECT_EQ(error(kMinimal), ".env:1: expected NAME=VALUE");
}

TEST_F(ConfigTest, InitTemplateLoads) {
  std::string text = init_template("my-app");
  EXPECT_NE(text.find("service: my-app"), std::string::npos);
  EXPECT_NE(text.find("192.0.2.10"), std::string::npos);
  EXPECT_NE(text.find(".env"), std::string::npos);
  EXPECT_NE(text.find("secret"), std::string::npos);
  Config c = load(text);
  EXPECT_EQ(c.service, "my-app");
  EXPECT_EQ(c.image, "podlift/my-app");
  ASSERT_EQ(c.servers.size(), 1u);
  EXPECT_EQ(c.servers[0].host, "192.0.2.10");

  // Filling in a real host is all it takes.
  std::string filled = text;
  filled.replace(filled.find("192.0.2.10"), 10, "deploy.example.com");
  EXPECT_EQ(load(filled).servers[0].host, "deploy.example.com");

  // The commented-out secret example works once uncommented and set.
  std::string with_secret = text;
  with_secret.replace(with_secret.find("  secret: []\n"), 13, "");
  with_secret.replace(with_secret.find("  # secret:"), 11, "  secret:");
  with_secret.replace(with_secret.find("  #   - DATABASE_PASSWORD"), 25, "    - DATABASE_PASSWORD");
  env_["DATABASE_PASSWORD"] = "pw";
  EXPECT_EQ(load(with_secret).secrets.at("DATABASE_PASSWORD"), "pw");
}

TEST_F(ConfigTest, InitTemplateQuotesAnInvalidServiceSoTheLoaderReportsIt) {
  std::string message = error(init_template("Bad Name: x"));
  EXPECT_NE(message.find("\"service\" must be"), std::string::npos) << message;
}

}  // namespace
}  // namespace podlift

namespace podlift {
namespace {

TEST_F(ConfigTest, WatchSectionLoadsWithDefaultsAndOrigins) {
  Config d = load(kMinimal);
  EXPECT_EQ(d.watch.branch, "main");
  EXPECT_EQ(d.watch.poll_interval, std::chrono::seconds(30));
  EXPECT_EQ(d.watch.state_dir, "/var/lib/podlift");
  EXPECT_EQ(d.watch.listen, "127.0.0.1:9292");
  EXPECT_EQ(d.watch.max_attempts, 3);
  env_["HOOK_KEY"] = "a-webhook-secret";
  Config c = load(std::string(kMinimal) +
                  "watch:\n  repo: https://ci:t0ken-value@git.example.com/app.git\n"
                  "  branch: env/prod\n  poll_interval: 10s\n  listen: 0.0.0.0:9000\n"
                  "  webhook_secret: HOOK_KEY\n  max_attempts: 5\n"
                  "  notify_url: https://chat.example.com/hook\n");
  EXPECT_EQ(c.watch.branch, "env/prod");
  EXPECT_EQ(c.watch.poll_interval, std::chrono::seconds(10));
  EXPECT_EQ(c.watch.max_attempts, 5);
  EXPECT_EQ(webhook_secret_value(c), "a-webhook-secret");
  EXPECT_EQ(c.origin_of("watch.branch").text, "podlift.yml:5:3");
  // Both the webhook secret and the token in the URL are secrets: `config` never shows them.
  auto lines = describe(c);
  const ConfigLine* repo = find_line(lines, "watch.repo");
  ASSERT_NE(repo, nullptr);
  EXPECT_EQ(repo->value, "https://ci:[redacted]@git.example.com/app.git");
  for (const auto& l : lines) {
    EXPECT_EQ(l.value.find("a-webhook-secret"), std::string::npos) << l.key;
  }
}

TEST_F(ConfigTest, WatchValuesAreValidated) {
  auto one = [&](const std::string& extra) { return error(std::string(kMinimal) + extra); };
  EXPECT_NE(one("watch: {branch: refs/heads/main}\n").find("must be a branch name"),
            std::string::npos);
  EXPECT_NE(one("watch: {branch: \"a b\"}\n").find("must be a branch name"), std::string::npos);
  EXPECT_NE(one("watch: {branch: \"a..b\"}\n").find("must be a branch name"), std::string::npos);
  EXPECT_EQ(one("watch: {listen: 9292}\n"),
            "podlift.yml:3:17: \"watch.listen\" must be HOST:PORT (e.g. 127.0.0.1:9292, "
            "0.0.0.0:9292) or \"off\", got \"9292\"");
  EXPECT_NE(one("watch: {state_dir: var/lib}\n").find("must be an absolute path"),
            std::string::npos);
  EXPECT_NE(one("watch: {webhook_secret: \"s3cret value!\"}\n").find("not the secret itself"),
            std::string::npos);
  EXPECT_NE(one("watch: {notify_url: ftp://x}\n").find("http:// or https://"), std::string::npos);
  EXPECT_NE(one("watch: {max_attempts: 0}\n").find("must be at least 1"), std::string::npos);
  EXPECT_NE(one("watch: {pol_interval: 5s}\n").find("did you mean \"poll_interval\""),
            std::string::npos);
  EXPECT_EQ(load(std::string(kMinimal) + "watch: {listen: \"off\"}\n").watch.listen, "off");
}

}  // namespace
}  // namespace podlift
