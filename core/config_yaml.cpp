// load_config: reads podlift.yml and the .env next to it, walks the YAML collecting every problem
// (unknown keys, bad values, unset ${VAR}s, missing secrets), applies PODLIFT_* overrides, and only
// then throws one ConfigError listing them all.
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <utility>

#include "core/config.hpp"
#include "core/config_detail.hpp"
#include "core/error.hpp"
#include "core/suggest.hpp"

extern char** environ;

namespace podlift {

namespace {

namespace fs = std::filesystem;
using config_detail::in_quotes;

// A handler for one key of a mapping: receives the key node and its value.
using KeyHandler = std::function<void(const YAML::Node& key, const YAML::Node& value)>;
using Handlers = std::vector<std::pair<std::string, KeyHandler>>;

std::string kind_of(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

// Why `host` (brackets already stripped) is not a usable server host, or "" when it is.
std::string check_host(const std::string& host) {
  if (host.empty()) return "must not be empty";
  if (host.find('@') != std::string::npos)
    return "must be a host only; write the user in \"user:\"";
  if (std::count(host.begin(), host.end(), ':') == 1) {
    return "must be a host only; write the port in \"port:\"";
  }
  bool ok = host[0] != '-' && std::all_of(host.begin(), host.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' ||
                     c == '_' || c == '-';
            });
  return ok ? "" : "must be a host name, IPv4 or IPv6 address";
}

bool valid_user(const std::string& user) {
  return !user.empty() && user[0] != '-' && std::all_of(user.begin(), user.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

class Loader {
 public:
  Loader(std::string file, const LoadOptions& options, Config& config)
      : file_(std::move(file)), options_(options), config_(config) {}

  std::vector<std::string>& problems() { return problems_; }

  // Reads the .env next to the config, if there is one.
  void read_dotenv() {
    std::string name = (fs::path(file_).parent_path() / ".env").string();
    fs::path real = fs::path(config_.dir) / ".env";
    std::error_code ec;
    if (!fs::is_regular_file(real, ec)) return;
    std::ifstream in(real, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    try {
      dotenv_ = parse_dotenv(text.str(), name);
    } catch (const ConfigError& e) {
      problems_.push_back(e.what());
    }
  }

  void walk(const YAML::Node& root) {
    if (!root.IsNull() && !root.IsMap()) {
      problem(root.Mark(), "expected a mapping of settings at the top level, got " + kind_of(root));
      return;
    }
    root_is_map_ = true;
    walk_map(root, "",
             {
                 {"service",
                  [this](auto& k, auto& v) {
                    service_written_ = true;
                    if (v.IsNull()) problem(k.Mark(), "\"service\" must not be empty");
                    setting("service")(k, v);
                  }},
                 {"image", setting("image")},
                 {"build", [this](auto&, auto& v) { build(v); }},
                 {"app_port", setting("app_port")},
                 {"healthcheck",
                  section("healthcheck", {"path", "host", "interval", "timeout", "deadline"})},
                 {"env", [this](auto&, auto& v) { env(v); }},
                 {"servers", [this](auto& k, auto& v) { servers(k, v); }},
                 {"nginx", section("nginx", {"server_name", "listen"})},
                 {"ssh", section("ssh", {"known_hosts", "connect_timeout", "command_timeout"})},
                 {"retain", setting("retain")},
                 {"stop_timeout", setting("stop_timeout")},
                 {"drain_timeout", setting("drain_timeout")},
                 {"watch",
                  section("watch", {"repo", "branch", "poll_interval", "git_timeout",
                                    "fetch_timeout", "ssh_key", "state_dir", "listen",
                                    "webhook_secret", "notify_url", "max_attempts", "lock_wait"})},
                 {"ship", section("ship", {"trim_layers", "compression_level", "idle_timeout"})},
                 {"registry", [this](auto&, auto& v) { registry(v); }},
             });
  }

  // Resolves env.secret names from the environment, then .env.
  void resolve_secrets() {
    for (const auto& [name, mark] : secret_marks_) {
      if (config_.env.clear.count(name)) {
        problem(mark, in_quotes(name) + " is in both \"env.clear\" and \"env.secret\"");
      }
      std::string key = "env.secret." + name;
      if (auto value = environment(name)) {
        config_.secrets[name] = *value;
        config_.origins[key] = Origin{"env"};
      } else if (auto it = dotenv_.find(name); it != dotenv_.end()) {
        config_.secrets[name] = it->second;
        config_.origins[key] = Origin{".env"};
      } else if (options_.require_secrets) {
        problem(mark, "secret " + in_quotes(name) +
                          " is not set (set it in the environment or in " +
                          in_quotes((fs::path(file_).parent_path() / ".env").string()) + ")");
      }
    }
  }

  // PODLIFT_* variables override what the file said.
  void apply_overrides() {
    warn_unknown_podlift_variables();
    for (const auto& s : settings()) {
      auto value = environment(s.env);
      if (!value) continue;
      try {
        set_setting(config_, s.key, *value, "env " + s.env);
      } catch (const ConfigError& e) {
        problems_.push_back("environment variable " + s.env + ": " + e.what());
      }
    }
  }

  // A misspelt PODLIFT_* variable would silently change nothing; say so.
  void warn_unknown_podlift_variables() const {
    if (!options_.use_process_environment || options_.environment) return;
    static const std::vector<std::string> known_other = {"PODLIFT_CONFIG", "PODLIFT_DOCKER",
                                                         "PODLIFT_E2E_KEEP", "PODLIFT_DEMO_DIR"};
    std::vector<std::string> names = known_other;
    names.push_back(config_.watch.webhook_secret);  // secrets' names, not settings
    names.push_back(config_.registry.password_secret);
    for (const auto& s : settings()) names.push_back(s.env);
    for (char** e = environ; *e; ++e) {
      std::string_view kv(*e);
      if (kv.rfind("PODLIFT_", 0) != 0) continue;
      std::string name(kv.substr(0, kv.find('=')));
      if (std::find(names.begin(), names.end(), name) != names.end()) continue;
      spdlog::warn("environment variable {} is not a podlift setting{}", name,
                   did_you_mean(name, names));
    }
  }

  // Checks that need the whole config: required keys and derived defaults. A key that was
  // written but rejected has been reported already and is not reported again as missing.
  void finish() {
    YAML::Mark top;  // 1:1
    if (!root_is_map_) return;
    if (config_.service.empty() && !service_written_) {
      problem(top, "missing required key \"service\"");
    }
    if (config_.servers.empty() && servers_empty_) {
      problem(*servers_empty_, "\"servers\" must list at least one server");
    } else if (config_.servers.empty() && !servers_written_) {
      problem(top, "missing required key \"servers\" (at least one server)");
    }
    for (size_t i = 0; i < config_.servers.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        const auto& a = config_.servers[j];
        const auto& b = config_.servers[i];
        if (a.host == b.host && a.port == b.port) {
          problems_.push_back(b.origin.text + ": server " + b.host + ":" + std::to_string(b.port) +
                              " is listed twice (also at " + a.origin.text + ")");
        }
      }
    }
    if (config_.origins.find("image") == config_.origins.end() && !config_.service.empty()) {
      config_.image = "podlift/" + config_.service;
    }
    // Optional secrets: without the webhook secret the watcher only polls and refuses webhooks;
    // without a registry password there is no login (or password_command gives one).
    for (const std::string& name :
         {config_.watch.webhook_secret, config_.registry.password_secret}) {
      if (auto value = environment(name)) {
        config_.secrets[name] = *value;
      } else if (auto it = dotenv_.find(name); it != dotenv_.end()) {
        config_.secrets[name] = it->second;
      }
    }
    for (auto& p : config_detail::registry_problems(config_, options_.require_secrets)) {
      problems_.push_back(std::move(p));
    }
    // A token in the repository URL (https://user:TOKEN@host/..., https://TOKEN@host/...) is a
    // secret; a bare user name in an ssh URL (ssh://git@host/...) is not.
    const std::string& repo = config_.watch.repo;
    auto scheme = repo.find("://");
    if (scheme != std::string::npos) {
      auto at = repo.find('@', scheme + 3);
      if (at != std::string::npos && at < repo.find('/', scheme + 3)) {
        std::string userinfo = repo.substr(scheme + 3, at - scheme - 3);
        auto colon = userinfo.find(':');
        bool http = repo.rfind("http", 0) == 0;
        std::string secret = colon != std::string::npos ? userinfo.substr(colon + 1)
                             : http                     ? userinfo
                                                        : "";
        if (!secret.empty()) config_.secrets["watch.repo credentials"] = secret;
      }
    }
  }

  void registry(const YAML::Node& value) {
    Handlers handlers;
    for (const char* key :
         {"server", "username", "password_secret", "password_command", "fallback"}) {
      handlers.emplace_back(key, setting(std::string("registry.") + key));
    }
    handlers.emplace_back("password", [this](auto& k, auto&) {
      problem(k.Mark(),
              "\"registry.password\" would put the password in podlift.yml: put it in the "
              "environment or .env as " +
                  config_.registry.password_secret +
                  " (another name: \"password_secret\"), or use \"password_command\"");
    });
    walk_map(value, "registry", handlers);
  }

  void problem(const YAML::Mark& mark, const std::string& what) {
    if (mark.is_null()) {
      problems_.push_back(file_ + ": " + what);
    } else {
      problems_.push_back(where(mark) + ": " + what);
    }
  }

 private:
  std::string where(const YAML::Mark& mark) const {
    return file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }

  std::optional<std::string> environment(const std::string& name) const {
    if (options_.environment) {
      auto it = options_.environment->find(name);
      if (it == options_.environment->end()) return std::nullopt;
      return it->second;
    }
    if (options_.use_process_environment) {
      if (const char* value = std::getenv(name.c_str())) return std::string(value);
    }
    return std::nullopt;
  }

  std::optional<std::string> variable(const std::string& name) const {
    if (auto value = environment(name)) return value;
    if (auto it = dotenv_.find(name); it != dotenv_.end()) return it->second;
    return std::nullopt;
  }

  // Replaces ${VAR} and $$ in the value of `what`. Reports a problem and returns nullopt when a
  // variable is unset or a reference is malformed.
  std::optional<std::string> interpolate(const std::string& text, const YAML::Mark& mark,
                                         const std::string& what) {
    std::string out;
    bool ok = true;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '$' || i + 1 == text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
        out += text[i];
      } else if (text[i + 1] == '$') {
        out += '$';
        ++i;
      } else {
        size_t close = text.find('}', i + 2);
        if (close == std::string::npos) {
          problem(mark,
                  "unterminated \"${\" in " + in_quotes(what) + " (write \"$$\" for a \"$\")");
          return std::nullopt;
        }
        std::string name = text.substr(i + 2, close - i - 2);
        if (!config_detail::is_env_name(name)) {
          problem(mark, "invalid variable reference " + in_quotes("${" + name + "}") + " in " +
                            in_quotes(what));
          ok = false;
        } else if (auto value = variable(name)) {
          out += *value;
        } else {
          problem(mark, "variable " + in_quotes(name) + " used in " + in_quotes(what) +
                            " is not set (set it in the environment or in .env)");
          ok = false;
        }
        i = close;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // The interpolated text of a scalar value, or nullopt after reporting a problem.
  std::optional<std::string> scalar(const YAML::Node& value, const std::string& what) {
    if (!value.IsScalar()) {
      problem(value.Mark(),
              "expected a single value for " + in_quotes(what) + ", got " + kind_of(value));
      return std::nullopt;
    }
    return interpolate(value.Scalar(), value.Mark(), what);
  }

  // The items of a list value; a scalar without a comma is a one-item list.
  std::vector<YAML::Node> list(const YAML::Node& value, const std::string& what) {
    std::vector<YAML::Node> items;
    if (value.IsNull()) return items;
    if (value.IsSequence()) {
      for (const auto& item : value) items.push_back(item);
    } else if (value.IsScalar() && value.Scalar().find(',') != std::string::npos) {
      problem(value.Mark(), in_quotes(what) +
                                " must be a YAML list, not a comma-separated string (write each "
                                "item on its own \"- \" line)");
    } else if (value.IsScalar()) {
      items.push_back(value);
    } else {
      problem(value.Mark(), "expected a list for " + in_quotes(what) + ", got " + kind_of(value));
    }
    return items;
  }

  // Dispatches each key of a mapping to its handler; reports unknown and duplicate keys.
  // `section` is the dotted name of the mapping ("" at the top level).
  void walk_map(const YAML::Node& node, const std::string& section, const Handlers& handlers) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      problem(node.Mark(), "expected a mapping for " + in_quotes(section) + ", got " +
                               (node.IsSequence() ? "a list" : in_quotes(node.Scalar())));
      return;
    }
    std::vector<std::string> names;
    for (const auto& [name, handler] : handlers) names.push_back(name);
    std::string in = section.empty() ? "" : " in " + in_quotes(section);
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        problem(key.Mark(), "expected a key name" + in);
        continue;
      }
      auto it = std::find_if(handlers.begin(), handlers.end(),
                             [&](const auto& h) { return h.first == key.Scalar(); });
      if (it == handlers.end()) {
        std::string hint = config_detail::did_you_mean(key.Scalar(), names);
        if (hint.empty() && section == "env") {
          hint = " (variables go under \"clear:\", names of secrets under \"secret:\")";
        }
        problem(key.Mark(), "unknown key " + in_quotes(key.Scalar()) + in + hint);
      } else if (!seen.insert(key.Scalar()).second) {
        problem(key.Mark(), "duplicate key " + in_quotes(key.Scalar()) + in);
      } else {
        it->second(key, entry.second);
      }
    }
  }

  KeyHandler setting(const std::string& key) {
    return [this, key](const YAML::Node& name, const YAML::Node& value) {
      if (value.IsNull()) return;
      auto text = scalar(value, key);
      if (!text) return;
      try {
        set_setting(config_, key, *text, where(name.Mark()));
      } catch (const ConfigError& e) {
        problem(value.Mark(), e.what());
      }
    };
  }

  // A mapping whose keys are all scalar settings named "<name>.<key>".
  KeyHandler section(const std::string& name, const std::vector<std::string>& keys) {
    return [this, name, keys](const YAML::Node&, const YAML::Node& value) {
      Handlers handlers;
      for (const auto& key : keys) handlers.emplace_back(key, setting(name + "." + key));
      walk_map(value, name, handlers);
    };
  }

  // A mapping of variable names to values (build.args, env.clear).
  void string_map(const YAML::Node& node, const std::string& what,
                  std::map<std::string, std::string>& out) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      problem(node.Mark(), "expected a mapping of NAME: value for " + in_quotes(what) + ", got " +
                               (node.IsSequence() ? "a list" : in_quotes(node.Scalar())));
      return;
    }
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar() || !config_detail::is_env_name(key.Scalar())) {
        problem(key.Mark(), "invalid name " + (key.IsScalar() ? in_quotes(key.Scalar()) : "") +
                                " in " + in_quotes(what) +
                                " (letters, digits and '_', not starting with a digit)");
        continue;
      }
      const std::string& name = key.Scalar();
      if (out.count(name)) {
        problem(key.Mark(), "duplicate key " + in_quotes(name) + " in " + in_quotes(what));
        continue;
      }
      std::string value;
      if (!entry.second.IsNull()) {
        auto text = scalar(entry.second, what + "." + name);
        if (!text) continue;
        value = *text;
      }
      out[name] = value;
      config_.origins[what + "." + name] = Origin{where(key.Mark())};
    }
  }

  void build(const YAML::Node& value) {
    walk_map(
        value, "build",
        {{"context", setting("build.context")},
         {"dockerfile", setting("build.dockerfile")},
         {"args", [this](auto&, auto& v) { string_map(v, "build.args", config_.build.args); }}});
  }

  void env(const YAML::Node& value) {
    walk_map(value, "env",
             {{"clear", [this](auto&, auto& v) { string_map(v, "env.clear", config_.env.clear); }},
              {"secret", [this](auto&, auto& v) { secrets(v); }}});
  }

  void secrets(const YAML::Node& value) {
    for (const auto& item : list(value, "env.secret")) {
      auto name = scalar(item, "env.secret");
      if (!name) continue;
      if (!config_detail::is_env_name(*name)) {
        problem(item.Mark(), "invalid secret name " + in_quotes(*name) +
                                 " (letters, digits and '_', not starting with a digit)");
      } else if (std::any_of(secret_marks_.begin(), secret_marks_.end(),
                             [&](const auto& s) { return s.first == *name; })) {
        problem(item.Mark(), "duplicate secret " + in_quotes(*name) + " in \"env.secret\"");
      } else {
        config_.env.secret.push_back(*name);
        secret_marks_.emplace_back(*name, item.Mark());
      }
    }
  }

  void servers(const YAML::Node& key, const YAML::Node& value) {
    servers_written_ = true;
    if (value.IsNull()) servers_empty_ = key.Mark();
    if (value.IsSequence() && value.size() == 0) servers_empty_ = value.Mark();
    auto items = list(value, "servers");
    for (size_t i = 0; i < items.size(); ++i) {
      const YAML::Node& item = items[i];
      std::string name = "servers[" + std::to_string(i) + "]";
      ServerConfig server;
      server.origin = Origin{where(item.Mark())};
      if (item.IsScalar()) {
        host(item, item, name, server);
      } else if (item.IsMap()) {
        walk_map(item, name,
                 {{"host", [&](auto& k, auto& v) { host(k, v, name, server); }},
                  {"user", [&](auto& k, auto& v) { user(k, v, name, server); }},
                  {"port", [&](auto& k, auto& v) { port(k, v, name, server); }},
                  {"identity_file", [&](auto& k, auto& v) { identity(k, v, name, server); }}});
        if (!item["host"])
          problem(item.Mark(), "missing required key \"host\" in " + in_quotes(name));
      } else {
        problem(item.Mark(),
                "expected a host or a mapping for " + in_quotes(name) + ", got " + kind_of(item));
      }
      config_.servers.push_back(server);
    }
  }

  void host(const YAML::Node& key, const YAML::Node& value, const std::string& name,
            ServerConfig& server) {
    auto text = value.IsNull() ? std::optional<std::string>("") : scalar(value, name + ".host");
    if (!text) return;
    std::string host = *text;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    std::string why = check_host(host);
    if (!why.empty()) {
      problem(value.IsNull() ? key.Mark() : value.Mark(),
              in_quotes(name + ".host") + " " + why + ", got " + in_quotes(*text));
      return;
    }
    server.host = host;
    config_.origins[name + ".host"] = Origin{where(key.Mark())};
  }

  void user(const YAML::Node& key, const YAML::Node& value, const std::string& name,
            ServerConfig& server) {
    if (value.IsNull()) return;
    auto text = scalar(value, name + ".user");
    if (!text) return;
    if (!valid_user(*text)) {
      problem(value.Mark(), in_quotes(name + ".user") +
                                " must be a user name (letters, digits and . _ -), got " +
                                in_quotes(*text));
      return;
    }
    server.user = *text;
    config_.origins[name + ".user"] = Origin{where(key.Mark())};
  }

  void port(const YAML::Node& key, const YAML::Node& value, const std::string& name,
            ServerConfig& server) {
    if (value.IsNull()) return;
    auto text = scalar(value, name + ".port");
    if (!text) return;
    try {
      server.port = config_detail::parse_port(name + ".port", *text);
      config_.origins[name + ".port"] = Origin{where(key.Mark())};
    } catch (const ConfigError& e) {
      problem(value.Mark(), e.what());
    }
  }

  void identity(const YAML::Node& key, const YAML::Node& value, const std::string& name,
                ServerConfig& server) {
    if (value.IsNull()) return;
    auto text = scalar(value, name + ".identity_file");
    if (!text) return;
    if (text->find('\n') != std::string::npos || text->find('\0') != std::string::npos) {
      problem(value.Mark(), in_quotes(name + ".identity_file") + " must not contain a newline");
      return;
    }
    server.identity_file = *text;
    config_.origins[name + ".identity_file"] = Origin{where(key.Mark())};
  }

  std::string file_;  // as given, for messages and origins
  const LoadOptions& options_;
  Config& config_;
  std::map<std::string, std::string> dotenv_;
  std::vector<std::pair<std::string, YAML::Mark>> secret_marks_;
  bool root_is_map_ = false;
  bool service_written_ = false;
  bool servers_written_ = false;
  std::optional<YAML::Mark> servers_empty_;  // where "servers" was written with no entries
  std::vector<std::string> problems_;
};

}  // namespace

Config load_config(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw ConfigError(path + ": no such file (run `podlift init` to create one)");
  }
  if (fs::is_directory(path, ec)) throw ConfigError(path + ": is a directory, not a podlift.yml");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();

  Config config;
  fs::path absolute = fs::absolute(path).lexically_normal();
  config.path = absolute.string();
  config.dir = absolute.parent_path().string();

  Loader loader(path, options, config);
  loader.read_dotenv();
  try {
    YAML::Node root = YAML::Load(text.str());
    loader.walk(root);
    loader.resolve_secrets();
    loader.apply_overrides();
    loader.finish();
  } catch (const YAML::Exception& e) {  // a syntax error, with its own position
    loader.problem(e.mark, e.msg);
  }

  if (!loader.problems().empty()) {
    std::string message;
    for (const auto& line : loader.problems()) {
      message += (message.empty() ? "" : "\n") + line;
    }
    throw ConfigError(config_detail::redact_quoted(message, config.secrets));
  }
  return config;
}

}  // namespace podlift
