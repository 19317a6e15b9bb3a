// The podlift configuration model and its loader.
//
// Precedence (lowest to highest): built-in defaults < podlift.yml < environment (PODLIFT_*
// variables, see settings()) < command-line flags (applied through set_setting()). Every scalar
// setting remembers where its value came from, for `podlift config` and for error messages.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace podlift {

using Millis = std::chrono::milliseconds;

// Where a value came from: "default", "podlift.yml:12:5", "env PODLIFT_RETAIN", "flag --retain".
struct Origin {
  std::string text = "default";
};

struct ServerConfig {
  std::string host;  // hostname, IPv4 or IPv6 literal
  std::string user = "root";
  int port = 22;
  std::string identity_file;  // empty: ssh-agent, then ~/.ssh/id_* defaults
  std::string role = "web";   // roles arrive with multi-server work; "web" for now
  Origin origin;              // where this server entry was written
};

struct HealthcheckConfig {
  std::string path = "/up";
  std::string host;  // optional Host header
  Millis interval{1000};
  Millis timeout{2000};    // per request
  Millis deadline{60000};  // overall, from container start
};

struct BuildConfig {
  std::string context = ".";              // relative to the repository root
  std::string dockerfile = "Dockerfile";  // relative to the context
  std::map<std::string, std::string> args;
};

struct NginxConfig {
  std::string server_name = "_";
  int listen = 80;
};

struct SshConfig {
  std::string known_hosts = "~/.ssh/known_hosts";
  Millis connect_timeout{10000};
  Millis command_timeout{300000};  // default bound on one remote command
};

// `podlift watch`: the branch it follows and the service around it (issue 4).
struct WatchConfig {
  std::string repo;  // URL (https, ssh, file) or path; empty: the repo holding podlift.yml
  std::string branch = "main";  // a branch name, matched as refs/heads/<branch>
  Millis poll_interval{30000};
  Millis git_timeout{30000};     // bound on listing the remote's refs (a hung remote fails a poll)
  Millis fetch_timeout{600000};  // bound on fetching and checking out one commit (submodules too)
  std::string ssh_key;           // private key for ssh:// remotes; empty: ssh-agent
  std::string state_dir = "/var/lib/podlift";
  std::string listen = "127.0.0.1:9292";  // webhooks, /healthz, /metrics, status page; "off"
  // Name of the secret (environment or .env) that signs webhooks; its value, when set, is in
  // Config::secrets under this name.
  std::string webhook_secret = "PODLIFT_WEBHOOK_SECRET";
  std::string notify_url;    // receives a JSON POST after each deploy (empty: none)
  int max_attempts = 3;      // deploys of one commit before the watcher waits for a new one
  Millis lock_wait{120000};  // how long an automatic deploy waits for another's deploy lock
};

// How images travel in SSH mode (no registry): only the layers a server lacks, gzip'd.
struct ShipConfig {
  bool trim_layers = true;     // false: always the whole image
  int compression_level = 1;   // gzip level 1..9 on the wire; 0 = none
  Millis idle_timeout{60000};  // a transfer with no byte moving this long fails
};

// Registry mode: build box pushes <server>/<image>:<version>, every server pulls it.
struct RegistryConfig {
  std::string server;    // host[:port] ("ghcr.io", "registry.example.com:5000"); empty: SSH mode
  std::string username;  // empty: no login (a public registry, or engines already logged in)
  // Name of the secret (environment or .env) holding the password; its value, when set, is in
  // Config::secrets under this name.
  std::string password_secret = "PODLIFT_REGISTRY_PASSWORD";
  // A command run on the build box whose output is the password (cloud CLIs that mint tokens).
  std::string password_command;
  std::string fallback = "none";  // "ssh": ship over SSH when the registry cannot be reached
  bool enabled() const { return !server.empty(); }
};

struct EnvConfig {
  std::map<std::string, std::string> clear;  // name -> value (not secret)
  std::vector<std::string> secret;           // names; values resolved into `secrets`
};

struct Config {
  std::string path;     // the podlift.yml this came from (absolute)
  std::string dir;      // its directory: .env and relative paths resolve here
  std::string service;  // [a-z0-9][a-z0-9_-]*, required
  std::string image;    // local image name; defaults to "podlift/<service>"
  BuildConfig build;
  int app_port = 3000;  // the port the app listens on inside the container
  HealthcheckConfig healthcheck;
  EnvConfig env;
  std::vector<ServerConfig> servers;  // at least one
  NginxConfig nginx;
  SshConfig ssh;
  int retain = 5;               // versions to keep (live one included)
  Millis stop_timeout{10000};   // docker stop -t for the old version
  Millis drain_timeout{30000};  // wait for in-flight requests to the old version
  WatchConfig watch;
  ShipConfig ship;
  RegistryConfig registry;

  // Secret values by name, resolved from the environment or the .env file. Never print these;
  // Redactor and config printing hide them.
  std::map<std::string, std::string> secrets;

  // Origins of scalar settings by dotted key ("healthcheck.deadline", "servers[0].host", ...).
  std::map<std::string, Origin> origins;
  const Origin& origin_of(const std::string& key) const;
};

// A settable scalar: its dotted key, PODLIFT_* environment name, and a description.
struct SettingInfo {
  std::string key;  // "healthcheck.deadline"
  std::string env;  // "PODLIFT_HEALTHCHECK_DEADLINE"
  std::string help;
};
const std::vector<SettingInfo>& settings();

struct LoadOptions {
  // Environment lookup; defaults to getenv. Tests inject their own.
  std::map<std::string, std::string>* environment = nullptr;
  bool use_process_environment = true;
  // When false, secrets that are not set are not an error (used by `config` and `validate`,
  // which report them instead of failing).
  bool require_secrets = true;
};

// Loads and validates a podlift.yml. On any problem throws ConfigError whose message lists every
// problem found, one per line, each as "<file>:<line>:<col>: <what>" (did-you-mean for unknown
// keys). ${VAR} in scalar values is replaced from the environment, then from .env next to the file;
// "$$" is a literal "$". An unset ${VAR} is an error naming it.
Config load_config(const std::string& path, const LoadOptions& options = {});

// Sets one scalar by dotted key from text (as from a flag), recording origin. Throws ConfigError.
void set_setting(Config& config, const std::string& key, const std::string& value,
                 const std::string& origin);

// Every scalar setting as (key, display value, origin), secrets shown as "[redacted]".
struct ConfigLine {
  std::string key;
  std::string value;
  std::string origin;
};
std::vector<ConfigLine> describe(const Config& config);

// Parses "500ms", "2s", "1m", "1h" or a bare number of seconds. Returns nullopt on bad input.
std::optional<Millis> parse_duration(const std::string& text);
// The webhook secret's value, or "" when it is not set.
std::string webhook_secret_value(const Config& config);
// The registry password from registry.password_secret, or "" when it is not set.
std::string registry_password_value(const Config& config);
std::string format_duration(Millis d);

// Parses KEY=VALUE lines (comments, blank lines, `export `, single/double quotes). Throws
// ConfigError with file:line on malformed lines.
std::map<std::string, std::string> parse_dotenv(const std::string& text, const std::string& file);

// The text `podlift init` writes: a commented podlift.yml for the given service name.
std::string init_template(const std::string& service);

}  // namespace podlift
