// The config model's scalar settings: the settings() table, set_setting (the one place a scalar is
// parsed and validated, used by the YAML loader, PODLIFT_* overrides and flags), describe(), and
// durations.
#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <type_traits>

#include "core/config_detail.hpp"
#include "core/error.hpp"
#include "core/suggest.hpp"

namespace podlift {

using config_detail::in_quotes;

namespace config_detail {

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  return podlift::did_you_mean(word, candidates);
}

bool is_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::optional<long long> parse_integer(std::string_view text) {
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

int parse_port(const std::string& what, const std::string& text) {
  auto value = parse_integer(text);
  if (!value)
    throw ConfigError("expected a number for " + in_quotes(what) + ", got " + in_quotes(text));
  if (*value < 1 || *value > 65535) {
    throw ConfigError(in_quotes(what) + " must be a port between 1 and 65535, got " +
                      in_quotes(text));
  }
  return static_cast<int>(*value);
}

std::string in_quotes(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string redact(std::string text, const std::map<std::string, std::string>& secrets) {
  for (const auto& [name, value] : secrets) {
    if (value.empty()) continue;
    for (size_t at = text.find(value); at != std::string::npos; at = text.find(value, at)) {
      text.replace(at, value.size(), "[redacted]");
      at += std::string_view("[redacted]").size();
    }
  }
  return text;
}

std::vector<std::string> registry_problems(const Config& config, bool require_secrets) {
  std::vector<std::string> out;
  const RegistryConfig& r = config.registry;
  auto at = [&](const std::string& key) { return config.origin_of(key).text + ": "; };
  auto secret = config.secrets.find(r.password_secret);
  const bool has_password =
      (secret != config.secrets.end() && !secret->second.empty()) || !r.password_command.empty();
  if (!r.enabled()) {
    for (const char* key : {"registry.username", "registry.password_command",
                            "registry.password_secret", "registry.fallback"}) {
      if (config.origins.count(key))
        out.push_back(at(key) + in_quotes(key) + " needs \"registry.server\"");
    }
  } else if (!r.username.empty() && !has_password && require_secrets) {
    out.push_back(at("registry.username") + "registry user " + in_quotes(r.username) +
                  " has no password: set " + r.password_secret +
                  " in the environment or .env, or set \"registry.password_command\"");
  } else if (r.username.empty() && !r.password_command.empty()) {
    out.push_back(at("registry.password_command") +
                  "\"registry.password_command\" needs \"registry.username\"");
  }
  return out;
}

}  // namespace config_detail

namespace {

template <typename W, typename F>
bool with_watch_field(W& watch, std::string_view key, F&& f) {
  if (key == "repo") {
    f(watch.repo);
  } else if (key == "branch") {
    f(watch.branch);
  } else if (key == "poll_interval") {
    f(watch.poll_interval);
  } else if (key == "git_timeout") {
    f(watch.git_timeout);
  } else if (key == "fetch_timeout") {
    f(watch.fetch_timeout);
  } else if (key == "ssh_key") {
    f(watch.ssh_key);
  } else if (key == "state_dir") {
    f(watch.state_dir);
  } else if (key == "listen") {
    f(watch.listen);
  } else if (key == "webhook_secret") {
    f(watch.webhook_secret);
  } else if (key == "notify_url") {
    f(watch.notify_url);
  } else if (key == "max_attempts") {
    f(watch.max_attempts);
  } else if (key == "lock_wait") {
    f(watch.lock_wait);
  } else {
    return false;
  }
  return true;
}

template <typename C, typename F>
bool with_shipping_field(C& config, std::string_view key, F&& f) {
  if (key == "ship.trim_layers") {
    f(config.ship.trim_layers);
  } else if (key == "ship.compression_level") {
    f(config.ship.compression_level);
  } else if (key == "ship.idle_timeout") {
    f(config.ship.idle_timeout);
  } else if (key == "registry.server") {
    f(config.registry.server);
  } else if (key == "registry.username") {
    f(config.registry.username);
  } else if (key == "registry.password_secret") {
    f(config.registry.password_secret);
  } else if (key == "registry.password_command") {
    f(config.registry.password_command);
  } else if (key == "registry.fallback") {
    f(config.registry.fallback);
  } else {
    return false;
  }
  return true;
}

// Calls f with a reference to the field behind a scalar setting's key (std::string, int or
// Millis; const when `config` is). Returns false for a key that is not a scalar setting.
template <typename C, typename F>
bool with_field(C& config, std::string_view key, F&& f) {
  if (key == "service") {
    f(config.service);
  } else if (key == "image") {
    f(config.image);
  } else if (key == "app_port") {
    f(config.app_port);
  } else if (key == "build.context") {
    f(config.build.context);
  } else if (key == "build.dockerfile") {
    f(config.build.dockerfile);
  } else if (key == "healthcheck.path") {
    f(config.healthcheck.path);
  } else if (key == "healthcheck.host") {
    f(config.healthcheck.host);
  } else if (key == "healthcheck.interval") {
    f(config.healthcheck.interval);
  } else if (key == "healthcheck.timeout") {
    f(config.healthcheck.timeout);
  } else if (key == "healthcheck.deadline") {
    f(config.healthcheck.deadline);
  } else if (key == "nginx.server_name") {
    f(config.nginx.server_name);
  } else if (key == "nginx.listen") {
    f(config.nginx.listen);
  } else if (key == "ssh.known_hosts") {
    f(config.ssh.known_hosts);
  } else if (key == "ssh.connect_timeout") {
    f(config.ssh.connect_timeout);
  } else if (key == "ssh.command_timeout") {
    f(config.ssh.command_timeout);
  } else if (key == "retain") {
    f(config.retain);
  } else if (key == "stop_timeout") {
    f(config.stop_timeout);
  } else if (key == "drain_timeout") {
    f(config.drain_timeout);
  } else if (key.rfind("watch.", 0) == 0) {
    return with_watch_field(config.watch, key.substr(6), f);
  } else if (key.rfind("ship.", 0) == 0 || key.rfind("registry.", 0) == 0) {
    return with_shipping_field(config, key, f);
  } else {
    return false;
  }
  return true;
}

bool all_chars(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

bool has_control_or_space(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) < 0x20 ||
           c == 0x7f;
  });
}

// git's rules for a branch name (git check-ref-format --branch), as far as a watcher needs them.
bool valid_branch(const std::string& b) {
  if (b.empty() || b[0] == '-' || b[0] == '/' || b.back() == '/' || b.back() == '.') return false;
  if (b.find("..") != std::string::npos || b.find("//") != std::string::npos ||
      b.find("@{") != std::string::npos || b == "@")
    return false;
  if (b.size() >= 5 && b.compare(b.size() - 5, 5, ".lock") == 0) return false;
  if (b.rfind("refs/", 0) == 0) return false;  // written as a ref, not a branch name
  return std::none_of(b.begin(), b.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f ||
           std::string_view("~^:?*[\\").find(c) != std::string_view::npos;
  });
}

// Why `value` is not acceptable for watch.<key>, or "" when it is.
std::string check_watch_string(std::string_view key, const std::string& value) {
  bool control = std::any_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (control) return "must not contain control characters";
  if (key == "branch") {
    return valid_branch(value) ? ""
                               : "must be a branch name like \"main\" or \"env/prod\" (not "
                                 "refs/heads/..., no spaces, \"..\", ~ ^ : ? * [ \\)";
  }
  if (key == "state_dir") {
    return !value.empty() && value[0] == '/' ? "" : "must be an absolute path";
  }
  if (key == "listen") {
    if (value == "off") return "";
    auto colon = value.rfind(':');
    auto port = colon == std::string::npos
                    ? std::nullopt
                    : config_detail::parse_integer(std::string_view(value).substr(colon + 1));
    bool ok = colon != std::string::npos && colon > 0 && port && *port >= 1 && *port <= 65535;
    return ok ? "" : "must be HOST:PORT (e.g. 127.0.0.1:9292, 0.0.0.0:9292) or \"off\"";
  }
  if (key == "webhook_secret") {
    return config_detail::is_env_name(value)
               ? ""
               : "must be the name of a secret in the environment or .env (letters, digits and "
                 "'_'), not the secret itself";
  }
  if (key == "notify_url") {
    bool ok = value.empty() || value.rfind("http://", 0) == 0 || value.rfind("https://", 0) == 0;
    return ok && !has_control_or_space(value) ? "" : "must be an http:// or https:// URL";
  }
  if (key == "repo" && value.empty()) return "must not be empty";
  return "";
}

// Why `value` is not acceptable for registry.<key>, or "" when it is.
std::string check_registry_string(std::string_view key, const std::string& value) {
  if (key == "server") {
    if (value.find("://") != std::string::npos) {
      return "must be a host[:port] without a scheme (docker always speaks https, or http to "
             "loopback and insecure registries)";
    }
    bool ok = value.empty() || (value[0] != '-' && value[0] != '.' && all_chars(value, ".-:[]"));
    if (!ok) return "must be a registry host[:port], like \"ghcr.io\" or \"10.0.0.5:5000\"";
    // docker reads a first path part without '.' or ':' (other than localhost) as a Docker Hub
    // user, not as a registry: "myreg/app" would go to docker.io/myreg/app.
    bool host_like =
        value.empty() || value == "localhost" || value.find_first_of(".:") != std::string::npos;
    return host_like
               ? ""
               : "must contain a '.' or a ':port' (or be localhost), else docker takes it "
                 "for a Docker Hub user name; write e.g. \"myreg.internal\" or \"myreg:5000\"";
  }
  if (key == "username") {
    bool bad = has_control_or_space(value) || (!value.empty() && value[0] == '-');
    return bad ? "must be a user name without whitespace" : "";
  }
  if (key == "password_secret") {
    // Upper case only: a token pasted here (ghp_..., glpat-...) is refused, not looked up and
    // printed as "not set".
    bool upper = config_detail::is_env_name(value) &&
                 std::none_of(value.begin(), value.end(),
                              [](char c) { return std::islower(static_cast<unsigned char>(c)); });
    return upper ? ""
                 : "must be the NAME of a variable in the environment or .env, in upper case "
                   "like PODLIFT_REGISTRY_PASSWORD, not the password itself (the value is not "
                   "shown)";
  }
  if (key == "password_command") {
    return value.find('\n') == std::string::npos ? "" : "must be one line";
  }
  if (key == "fallback") {
    return value == "none" || value == "ssh" ? "" : "must be \"none\" or \"ssh\"";
  }
  return "";
}

// Why `value` is not acceptable for the string setting `key`, or "" when it is.
std::string check_string(std::string_view key, const std::string& value) {
  if (key == "service") {
    bool ok = !value.empty() && value.size() <= 63 && all_chars(value, "_-") &&
              std::none_of(value.begin(), value.end(),
                           [](char c) { return std::isupper(static_cast<unsigned char>(c)); }) &&
              value[0] != '_' && value[0] != '-' && value.back() != '_' && value.back() != '-';
    // Docker image names and nginx upstream names derive from it: no leading/trailing - or _.
    return ok ? ""
              : "must be 1 to 63 characters of a-z, 0-9, '_' and '-', starting and ending with a "
                "letter or digit";
  }
  if (key == "image") {
    bool ok = !value.empty() && value[0] != '-' && all_chars(value, "._-/:@");
    return ok ? "" : "must be a docker image name (letters, digits and . _ - / : @)";
  }
  if (key == "build.context" || key == "build.dockerfile") {
    if (value.empty()) return "must not be empty";
    if (value[0] == '/') return "must be a relative path";
    for (size_t start = 0; start <= value.size();) {
      size_t end = value.find('/', start);
      if (end == std::string::npos) end = value.size();
      if (value.compare(start, end - start, "..") == 0) return "must not contain \"..\"";
      start = end + 1;
    }
    return value.find('\n') != std::string::npos ? "must not contain a newline" : "";
  }
  if (key == "healthcheck.path") {
    if (value.empty() || value[0] != '/') return "must start with \"/\"";
    return has_control_or_space(value) ? "must not contain whitespace" : "";
  }
  if (key == "healthcheck.host") {
    return value.empty() || all_chars(value, ".:_-[]") ? "" : "must be a host name";
  }
  if (key == "nginx.server_name") {
    if (value.empty()) return "must not be empty";
    bool bad =
        has_control_or_space(value) || value.find_first_of(";{}\"'#\\$") != std::string::npos;
    return bad ? "must not contain whitespace, quotes or any of ; { } # \\ $" : "";
  }
  if (key.rfind("watch.", 0) == 0) {
    std::string why = check_watch_string(key.substr(6), value);
    if (!why.empty()) return why;
  }
  if (key.rfind("registry.", 0) == 0) return check_registry_string(key.substr(9), value);
  if (key == "ssh.known_hosts") {
    if (value.empty()) return "must not be empty";
    return value.find_first_of(std::string_view("\n\0", 2)) != std::string::npos
               ? "must not contain a newline"
               : "";
  }
  return "";
}

// Parses and validates `text` into `field`, the setting `key`. Throws ConfigError.
template <typename T>
void assign(T& field, std::string_view key, const std::string& text) {
  std::string name(key);
  if constexpr (std::is_same_v<T, std::string>) {
    std::string why = check_string(key, text);
    // A secret's name that is not a name may well be the secret itself: never echo it.
    const bool names_a_secret = key == "registry.password_secret" || key == "watch.webhook_secret";
    if (!why.empty()) {
      throw ConfigError(in_quotes(name) + " " + why +
                        (names_a_secret ? "" : ", got " + in_quotes(text)));
    }
    field = text;
  } else if constexpr (std::is_same_v<T, bool>) {
    std::string t;
    for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (t == "true" || t == "yes" || t == "on") {
      field = true;
    } else if (t == "false" || t == "no" || t == "off") {
      field = false;
    } else {
      throw ConfigError("expected true or false for " + in_quotes(name) + ", got " +
                        in_quotes(text));
    }
  } else if constexpr (std::is_same_v<T, int>) {
    if (key == "ship.compression_level") {
      auto value = config_detail::parse_integer(text);
      if (!value || *value < 0 || *value > 9) {
        throw ConfigError(in_quotes(name) + " must be a gzip level from 0 (none) to 9, got " +
                          in_quotes(text));
      }
      field = static_cast<int>(*value);
    } else if (key == "retain" || key == "watch.max_attempts") {
      auto value = config_detail::parse_integer(text);
      if (!value)
        throw ConfigError("expected a number for " + in_quotes(name) + ", got " + in_quotes(text));
      if (*value < 1 || *value > std::numeric_limits<int>::max()) {
        throw ConfigError(in_quotes(name) + " must be at least 1, got " + in_quotes(text));
      }
      field = static_cast<int>(*value);
    } else {
      field = config_detail::parse_port(name, text);
    }
  } else {
    auto value = parse_duration(text);
    if (!value) {
      throw ConfigError("expected a duration like \"500ms\", \"10s\", \"5m\" or \"1h\" for " +
                        in_quotes(name) + ", got " + in_quotes(text));
    }
    if (value->count() <= 0) throw ConfigError(in_quotes(name) + " must be longer than 0");
    // A week bounds every wait podlift does; more is a typo, not a plan.
    if (*value > std::chrono::hours(24 * 7)) {
      throw ConfigError(in_quotes(name) + " must be at most 1 week, got " + in_quotes(text));
    }
    field = *value;
  }
}

template <typename T>
std::string display(const T& field) {
  if constexpr (std::is_same_v<T, std::string>) {
    return field;
  } else if constexpr (std::is_same_v<T, bool>) {
    return field ? "true" : "false";
  } else if constexpr (std::is_same_v<T, int>) {
    return std::to_string(field);
  } else {
    return format_duration(field);
  }
}

std::vector<std::string> setting_keys() {
  std::vector<std::string> keys;
  for (const auto& s : settings()) keys.push_back(s.key);
  return keys;
}

}  // namespace

const Origin& Config::origin_of(const std::string& key) const {
  static const Origin kDefault;
  auto it = origins.find(key);
  return it == origins.end() ? kDefault : it->second;
}

const std::vector<SettingInfo>& settings() {
  static const std::vector<SettingInfo> table = [] {
    const std::pair<const char*, const char*> rows[] = {
        {"service", "service name: container, image and nginx names derive from it"},
        {"image", "local image name (default podlift/<service>)"},
        {"app_port", "port the app listens on inside the container"},
        {"build.context", "docker build context, relative to the repository root"},
        {"build.dockerfile", "Dockerfile path, relative to the build context"},
        {"healthcheck.path", "HTTP path probed before traffic is switched"},
        {"healthcheck.host", "Host header sent with health checks (empty: none)"},
        {"healthcheck.interval", "time between health check attempts"},
        {"healthcheck.timeout", "timeout of one health check request"},
        {"healthcheck.deadline", "time a new version has to become healthy"},
        {"nginx.server_name", "nginx server_name for the service"},
        {"nginx.listen", "port nginx listens on"},
        {"ssh.known_hosts", "known_hosts file used to verify servers"},
        {"ssh.connect_timeout", "SSH connect timeout"},
        {"ssh.command_timeout", "default bound on one remote command"},
        {"retain", "versions to keep on each server (live one included)"},
        {"stop_timeout", "grace period for stopping the old version"},
        {"drain_timeout", "longest wait for in-flight requests to the old version to finish"},
        {"watch.repo", "git URL or path the watcher follows (default: this repository)"},
        {"watch.branch", "branch the watcher deploys"},
        {"watch.poll_interval", "time between checks of the branch"},
        {"watch.git_timeout", "bound on asking the remote for the branch tip"},
        {"watch.fetch_timeout", "bound on fetching and checking out a commit"},
        {"watch.ssh_key", "private key for ssh:// repositories (default: ssh-agent)"},
        {"watch.state_dir", "where the watcher keeps its state, history and mirror"},
        {"watch.listen", "address of webhooks, /healthz, /metrics and the status page, or off"},
        {"watch.webhook_secret", "name of the secret that signs webhooks"},
        {"watch.notify_url", "URL receiving a JSON POST after each automatic deploy"},
        {"watch.max_attempts", "deploys of one commit before waiting for a new commit"},
        {"watch.lock_wait", "how long an automatic deploy waits for another deploy's lock"},
        {"ship.trim_layers", "SSH mode: send only the layers a server lacks"},
        {"ship.compression_level", "SSH mode: gzip level on the wire, 0 (none) to 9"},
        {"ship.idle_timeout", "SSH mode: a transfer with no byte moving this long fails"},
        {"registry.server", "registry host[:port]; empty: ship over SSH"},
        {"registry.username", "registry user name (empty: no login)"},
        {"registry.password_secret", "name of the secret holding the registry password"},
        {"registry.password_command", "command on the build box that prints the password"},
        {"registry.fallback", "ssh: ship over SSH when the registry cannot be reached"},
    };
    std::vector<SettingInfo> out;
    for (const auto& [key, help] : rows) {
      std::string env = "PODLIFT_";
      for (const char* p = key; *p; ++p) {
        env += *p == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
      }
      out.push_back({key, env, help});
    }
    return out;
  }();
  return table;
}

void set_setting(Config& config, const std::string& key, const std::string& value,
                 const std::string& origin) {
  bool known = with_field(config, key, [&](auto& field) { assign(field, key, value); });
  if (!known) {
    throw ConfigError("unknown setting " + in_quotes(key) +
                      config_detail::did_you_mean(key, setting_keys()));
  }
  config.origins[key] = Origin{origin};
  // The image name derives from the service until it is set explicitly.
  if (key == "service" && config.origins.find("image") == config.origins.end()) {
    config.image = "podlift/" + value;
  }
}

std::vector<ConfigLine> describe(const Config& config) {
  std::vector<ConfigLine> lines;
  auto add = [&](const std::string& key, const std::string& value) {
    lines.push_back(
        {key, config_detail::redact(value, config.secrets), config.origin_of(key).text});
  };
  for (const auto& s : settings()) {
    with_field(config, s.key, [&](const auto& field) { add(s.key, display(field)); });
  }
  for (size_t i = 0; i < config.servers.size(); ++i) {
    const ServerConfig& server = config.servers[i];
    std::string prefix = "servers[" + std::to_string(i) + "].";
    add(prefix + "host", server.host);
    add(prefix + "user", server.user);
    add(prefix + "port", std::to_string(server.port));
    add(prefix + "identity_file", server.identity_file);
  }
  for (const auto& [name, value] : config.build.args) add("build.args." + name, value);
  for (const auto& [name, value] : config.env.clear) add("env.clear." + name, value);
  for (const auto& name : config.env.secret) {
    std::string key = "env.secret." + name;
    bool present = config.secrets.find(name) != config.secrets.end();
    auto origin = config.origins.find(key);
    lines.push_back({key, "[redacted]",
                     !present                         ? "missing"
                     : origin != config.origins.end() ? origin->second.text
                                                      : "env"});
  }
  return lines;
}

std::string webhook_secret_value(const Config& config) {
  auto it = config.secrets.find(config.watch.webhook_secret);
  return it == config.secrets.end() ? "" : it->second;
}

std::string registry_password_value(const Config& config) {
  auto it = config.secrets.find(config.registry.password_secret);
  return it == config.secrets.end() ? "" : it->second;
}

std::optional<Millis> parse_duration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;  // 12 digits of hours still fit in int64 ms
  long long number = *config_detail::parse_integer(std::string_view(text).substr(0, digits));
  std::string_view unit = std::string_view(text).substr(digits);
  long long scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }
  return Millis(number * scale);
}

std::string format_duration(Millis d) {
  long long ms = d.count();
  if (ms < 0) return "-" + format_duration(Millis(-ms));
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace podlift
