#include "deployer/registry.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/redact.hpp"
#include "core/text.hpp"
#include "deployer/docker.hpp"

namespace podlift {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// docker's last non-empty line: the error, without the progress before it.
std::string last_line(const std::string& text) {
  std::string t = trim_right(text);
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// A docker config that already names an auth makes the CLI keep credentials in this file,
// rather than in a credential helper (pass, secretservice) it would pick when one is
// installed, where they would outlive the directory.
constexpr const char* kSeedConfig = R"({"auths":{"podlift.invalid":{}}})";

// Fixed text: user values arrive as positional parameters, never inside the script.
constexpr const char* kPullScript =
    "set -e\n"
    "if [ -n \"$1\" ]; then\n"
    "  d=$(mktemp -d)\n"
    "  trap 'rm -rf \"$d\"' EXIT\n"
    "  trap 'exit 1' HUP INT TERM\n"
    "  printf '%s' '{\"auths\":{\"podlift.invalid\":{}}}' > \"$d/config.json\"\n"
    "  docker --config \"$d\" login --username \"$1\" --password-stdin \"$2\" >/dev/null\n"
    "  docker --config \"$d\" pull --quiet \"$3\" >/dev/null\n"
    "else\n"
    "  docker pull --quiet \"$3\" >/dev/null\n"
    "fi\n";

// `podlift validate`: the login alone, with the same throwaway config.
constexpr const char* kLoginScript =
    "set -e\n"
    "d=$(mktemp -d)\n"
    "trap 'rm -rf \"$d\"' EXIT\n"
    "trap 'exit 1' HUP INT TERM\n"
    "printf '%s' '{\"auths\":{\"podlift.invalid\":{}}}' > \"$d/config.json\"\n"
    "docker --config \"$d\" login --username \"$1\" --password-stdin \"$2\" >/dev/null\n";

// TLS trouble: the registry answers, but not in a way docker trusts.
bool tls_problem(const std::string& docker_error) {
  const std::string e = lower(docker_error);
  for (const char* what : {"x509:", "certificate", "http response to https client", "tls:"}) {
    if (e.find(what) != std::string::npos) return true;
  }
  return false;
}

// The reason docker gave, with a hint when it is TLS rather than the password.
std::string explain(const std::string& server, const std::string& why) {
  if (!tls_problem(why)) return why;
  return why + " (docker does not trust " + server +
         ": give it a certificate from a public CA, "
         "or put its CA in /etc/docker/certs.d/" +
         server +
         "/ca.crt on the build box and every "
         "server)";
}

}  // namespace

bool registry_unreachable(const std::string& docker_error) {
  const std::string e = lower(docker_error);
  for (const char* what :
       {"connection refused", "no such host", "i/o timeout", "deadline exceeded",
        "network is unreachable", "no route to host", "connection reset by peer",
        "tls handshake timeout", "server misbehaving", "timeout awaiting response headers"}) {
    if (e.find(what) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::string> remote_pull_argv(const std::string& username, const std::string& server,
                                          const std::string& image) {
  return {"sh", "-c", kPullScript, "sh", username, server, image};
}

Registry::Registry(const Config& config, ProcessRunner& runner)
    : config_(config), runner_(runner), server_(config.registry.server) {}

Registry::~Registry() {
  if (!config_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(config_dir_, ec);
  }
}

std::vector<std::string> Registry::docker(std::vector<std::string> args) const {
  std::vector<std::string> argv = {local_docker()};
  if (!config_dir_.empty()) {
    argv.push_back("--config");
    argv.push_back(config_dir_);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

void Registry::login() {
  const RegistryConfig& r = config_.registry;
  if (r.username.empty()) return;
  password_ = registry_password_value(config_);
  if (password_.empty() && !r.password_command.empty()) {
    ProcessOptions opts;
    opts.timeout = std::chrono::seconds(120);
    auto out = runner_.run({"bash", "-c", r.password_command}, opts);
    if (!out) throw Error("registry.password_command: " + out.error());
    if (out->exit_code != 0) {
      throw Error("registry.password_command failed (exit " + std::to_string(out->exit_code) +
                  "): " + last_line(out->err));
    }
    password_ = trim_right(out->out);
    if (password_.empty()) throw Error("registry.password_command printed no password");
  }
  register_secret(password_);

  std::string tmpl = (std::filesystem::temp_directory_path() / "podlift-docker.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw Error("cannot create a private docker config dir");
  config_dir_ = tmpl;
  std::ofstream(config_dir_ + "/config.json") << kSeedConfig;
  ProcessOptions opts;
  opts.stdin_data = password_;
  opts.timeout = std::chrono::seconds(60);
  auto res =
      runner_.run(docker({"login", "--username", r.username, "--password-stdin", server_}), opts);
  if (!res) throw Error("docker login " + server_ + ": " + res.error());
  if (res->exit_code == 0) return;
  const std::string why = last_line(res->err.empty() ? res->out : res->err);
  if (registry_unreachable(why)) {
    throw RegistryUnreachable("cannot reach registry " + server_ + " from the build box: " + why);
  }
  if (tls_problem(why)) {
    throw Error("cannot log in to registry " + server_ + ": " + explain(server_, why) +
                "; nothing was changed");
  }
  throw Error("registry " + server_ + " refused the login of user " + r.username + ": " + why +
              " (check registry.username, and the password in " + r.password_secret +
              (r.password_command.empty() ? "" : " or from registry.password_command") +
              "); nothing was changed");
}

void Registry::push(const std::string& image) {
  ProcessOptions opts;
  opts.timeout = std::chrono::hours(2);
  auto res = runner_.run(docker({"push", image}), opts);
  if (!res) throw Error("docker push " + image + ": " + res.error());
  if (res->exit_code == 0) return;
  const std::string why = last_line(res->err.empty() ? res->out : res->err);
  if (registry_unreachable(why)) {
    throw RegistryUnreachable("cannot reach registry " + server_ + " to push " + image + ": " +
                              why);
  }
  throw Error("docker push " + image + " failed: " + explain(server_, why));
}

std::string Registry::check_login(RemoteExecutor& remote) {
  if (config_.registry.username.empty()) return "no registry.username: no login";
  RemoteCommand cmd;
  cmd.argv = {"sh", "-c", kLoginScript, "sh", config_.registry.username, server_};
  cmd.stdin_data = password_;
  cmd.timeout = std::chrono::seconds(60);
  auto res = remote.run(cmd);
  if (!res) throw Error(res.error());
  if (res->exit_status != 0) {
    throw Error("login to " + server_ +
                " failed: " + last_line(res->err.empty() ? res->out : res->err));
  }
  return "logged in to " + server_ + " as " + config_.registry.username;
}

void Registry::pull(RemoteExecutor& remote, const std::string& image) {
  RemoteCommand cmd;
  cmd.argv = remote_pull_argv(config_.registry.username, server_, image);
  cmd.stdin_data = password_;
  cmd.timeout =
      std::max<std::chrono::milliseconds>(config_.ssh.command_timeout, std::chrono::minutes(10));
  auto res = remote.run(cmd);
  if (!res) throw Error("pulling " + image + " on " + remote.name() + ": " + res.error());
  if (res->exit_status == 0) return;
  const std::string why = last_line(res->err.empty() ? res->out : res->err);
  if (registry_unreachable(why)) {
    throw RegistryUnreachable(remote.name() + " cannot reach registry " + server_ + ": " + why);
  }
  throw Error("pulling " + image + " on " + remote.name() + " failed: " + explain(server_, why));
}

}  // namespace podlift
