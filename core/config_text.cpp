// Text formats around the config: .env files (parse_dotenv) and the podlift.yml that
// `podlift init` writes (init_template).
#include <algorithm>
#include <cctype>

#include "core/config.hpp"
#include "core/config_detail.hpp"
#include "core/error.hpp"

namespace podlift {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  s = trim_left(s);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// After a closing quote only whitespace or a comment may follow.
bool only_comment(std::string_view rest) {
  rest = trim(rest);
  return rest.empty() || rest.front() == '#';
}

// Parses the value part of one line (after "="). Returns "" on success with `value` set, else the
// problem. Never includes the value in the problem: it may be a secret.
std::string parse_value(std::string_view text, std::string& value) {
  text = trim(text);
  if (text.empty()) {
    value.clear();
    return "";
  }
  if (text.front() == '\'') {
    size_t close = text.find('\'', 1);
    if (close == std::string_view::npos) return "unterminated single quote";
    if (!only_comment(text.substr(close + 1))) return "unexpected text after the closing quote";
    value = std::string(text.substr(1, close - 1));
    return "";
  }
  if (text.front() == '"') {
    std::string out;
    for (size_t i = 1; i < text.size(); ++i) {
      char c = text[i];
      if (c == '"') {
        if (!only_comment(text.substr(i + 1))) return "unexpected text after the closing quote";
        value = out;
        return "";
      }
      if (c == '\\' && i + 1 < text.size()) {
        char next = text[++i];
        if (next == 'n') {
          out += '\n';
        } else if (next == '"' || next == '\\') {
          out += next;
        } else {
          out += '\\';
          out += next;
        }
      } else {
        out += c;
      }
    }
    return "unterminated double quote";
  }
  // Unquoted: a " #" starts a comment.
  for (size_t i = 1; i < text.size(); ++i) {
    if (text[i] == '#' && is_space(text[i - 1])) {
      text = text.substr(0, i);
      break;
    }
  }
  value = std::string(trim(text));
  return "";
}

// service as a YAML scalar: plain when it is a valid name, double-in_quotes otherwise so the file
// still parses and the loader reports the bad name at its position.
std::string yaml_scalar(const std::string& text) {
  bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return plain ? text : config_detail::in_quotes(text);
}

}  // namespace

std::map<std::string, std::string> parse_dotenv(const std::string& text, const std::string& file) {
  std::map<std::string, std::string> out;
  std::string problems;
  auto fail = [&](size_t line, const std::string& what) {
    problems += (problems.empty() ? "" : "\n") + file + ":" + std::to_string(line) + ": " + what;
  };
  size_t number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line = trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    ++number;
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export " || line.substr(0, 7) == "export\t") {
      line = trim_left(line.substr(7));
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      fail(number, "expected NAME=VALUE");
      continue;
    }
    std::string name(trim(line.substr(0, eq)));
    if (!config_detail::is_env_name(name)) {
      fail(number, "invalid variable name " + config_detail::in_quotes(name) +
                       " (letters, digits and '_', not starting with a digit)");
      continue;
    }
    std::string value;
    std::string why = parse_value(line.substr(eq + 1), value);
    if (!why.empty()) {
      fail(number, why + " in the value of " + name);
      continue;
    }
    out[name] = value;
  }
  if (!problems.empty()) throw ConfigError(problems);
  return out;
}

std::string config_detail::redact_quoted(const std::string& message,
                                         const std::map<std::string, std::string>& secrets) {
  std::map<std::string, std::string> escaped;  // as in_quotes() writes them
  for (const auto& [name, value] : secrets) {
    std::string q = in_quotes(value);
    escaped[name] = q.substr(1, q.size() - 2);
  }
  std::string out;
  for (size_t i = 0; i < message.size();) {
    if (message[i] != '"') {
      out += message[i++];
      continue;
    }
    size_t close = i + 1;
    while (close < message.size() && message[close] != '"') close += message[close] == '\\' ? 2 : 1;
    if (close >= message.size()) {
      out += message.substr(i);
      break;
    }
    out += '"' + redact(message.substr(i + 1, close - i - 1), escaped) + '"';
    i = close + 1;
  }
  return out;
}

std::string init_template(const std::string& service) {
  std::string name = yaml_scalar(service);
  return R"(# podlift.yml: how `podlift deploy` builds, ships and runs this service.
#
# Any value may use ${VAR}: it is replaced from the environment, or else from the .env file next
# to this file. Write $$ for a literal "$". Every single-value setting can also be overridden by a
# PODLIFT_<KEY> environment variable, e.g. PODLIFT_RETAIN=3 or PODLIFT_HEALTHCHECK_DEADLINE=2m.
# Durations are written 500ms, 10s, 5m or 1h. `podlift config` shows each value and its source.

# The service name: a-z, 0-9, '_' and '-'. Container, image and nginx names derive from it.
service: )" +
         name +
         R"(

# The local image name; podlift/<service> when not set.
# image: podlift/)" +
         name + R"(

# How the image is built: `docker build` with this context (relative to the repository root)
# and Dockerfile (relative to the context). args become --build-arg NAME=value.
build:
  context: .
  dockerfile: Dockerfile
  # args:
  #   NODE_ENV: production

# The port the app listens on inside the container.
app_port: 3000

# A new version gets traffic only once it answers `path` with a 2xx status. podlift tries every
# `interval`, each request bounded by `timeout`, and gives up after `deadline`.
healthcheck:
  path: /up
  # host: example.com          # Host header to send, if the app checks it
  interval: 1s
  timeout: 2s
  deadline: 60s

# The container's environment.
#   clear:  plain values, written here. They are not secret: `podlift config` shows them.
#   secret: names only. Each value is read when podlift runs, from your environment or else from
#           the .env file next to this file (NAME=value lines; keep .env out of git). Secret
#           values are never printed.
env:
  clear:
    LOG_LEVEL: info
  secret: []
  # secret:
  #   - DATABASE_PASSWORD

# The servers to deploy to, one "- " entry each. A bare string is a host with the defaults
# (user root, port 22). Without identity_file, ssh-agent and then ~/.ssh/id_* are used.
servers:
  - host: 192.0.2.10             # replace with your server's address
    user: root
    port: 22
    # identity_file: ~/.ssh/id_ed25519

# nginx on each server sends requests for server_name to the live version ("_": any name).
nginx:
  server_name: _
  listen: 80

# Server host keys are checked against known_hosts (connect once with ssh to add them).
# command_timeout bounds one remote command.
ssh:
  known_hosts: ~/.ssh/known_hosts
  connect_timeout: 10s
  command_timeout: 5m

# Versions kept on each server, the live one included; older ones are removed.
retain: 5

# How long the old version gets to stop (docker stop -t) once traffic has moved.
stop_timeout: 10s

# After the switch, how long requests still in flight to the old version may take to finish.
drain_timeout: 30s

# `podlift watch` (a systemd service on a build box) deploys every push to one branch. It polls
# the branch every poll_interval and also takes webhooks (GitHub, GitLab, Gitea/Forgejo,
# Bitbucket, generic) on `listen`, signed with the secret named by webhook_secret.
# watch:
#   repo: https://git.example.com/you/app.git   # or ssh://..., a path; default: this repository
#   branch: main
#   poll_interval: 30s
#   listen: 127.0.0.1:9292                      # webhooks, /healthz, /metrics, status page
#   webhook_secret: PODLIFT_WEBHOOK_SECRET      # the NAME of a secret in the environment or .env
#   state_dir: /var/lib/podlift
#   # notify_url: https://chat.example.com/hooks/deploys

# How images reach the servers. Without a registry (the default), over SSH: only the layers a
# server lacks are sent, gzip'd, straight into `docker load`. trim_layers: false sends the whole
# image every time; idle_timeout fails a transfer that stalls.
# ship:
#   trim_layers: true
#   compression_level: 1
#   idle_timeout: 60s
#
# With a registry, the build box pushes <server>/<image>:<version> and every server pulls it
# (set image: to a name you own there, e.g. you/app). The password never goes in this file: it
# is the secret named by password_secret (environment or .env), or else the output of
# password_command. fallback: ssh ships over SSH when the registry cannot be reached (never when
# it refuses the password). See docs/shipping.md.
# registry:
#   server: ghcr.io
#   username: you
#   password_secret: PODLIFT_REGISTRY_PASSWORD
#   # password_command: aws ecr get-login-password --region eu-west-1
#   fallback: none
)";
}

}  // namespace podlift
