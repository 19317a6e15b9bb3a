#include "deployer/docker.hpp"

#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <random>

#include "core/quote.hpp"

namespace podlift {

std::string local_docker() {
  if (const char* d = std::getenv("PODLIFT_DOCKER"); d && *d) return d;
  if (::access("/usr/bin/docker", X_OK) == 0) return "/usr/bin/docker";
  return "docker";
}

std::string image_ref(const Config& config, const std::string& version_id) {
  // `image: ghcr.io/me/web` with `server: ghcr.io` means the same as `image: me/web`.
  const std::string& server = config.registry.server;
  const bool prefixed = config.image.rfind(server + "/", 0) == 0;
  const std::string name =
      config.registry.enabled() && !prefixed ? server + "/" + config.image : config.image;
  return name + ":" + version_id;
}

namespace {
std::string normalize_context(std::string prefix, const std::string& context) {
  // prefix ends with '/' or is empty; context is relative ("." or "app" or "./app/").
  std::string path = prefix;
  size_t i = 0;
  while (i < context.size()) {
    size_t j = context.find('/', i);
    if (j == std::string::npos) j = context.size();
    std::string part = context.substr(i, j - i);
    if (!part.empty() && part != ".") path += part + "/";
    i = j + 1;
  }
  if (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}
}  // namespace

std::vector<std::string> build_command(const Config& config, const AppVersion& version) {
  std::string tree = version.tree_rev;
  std::string sub = normalize_context(version.prefix, config.build.context);
  if (!sub.empty()) tree += ":" + sub;
  std::vector<std::string> archive = {"git",     "-C",           version.repo_root,
                                      "archive", "--format=tar", tree};
  if (!version.checkout_dir.empty()) {
    // A clean checkout (submodules included, which git archive leaves out), minus git's own files.
    std::string dir = version.checkout_dir + (sub.empty() ? "" : "/" + sub);
    archive = {"tar", "-C", dir, "--exclude=.git", "-c", "."};
  }
  std::vector<std::string> build = {local_docker(), "build",
                                    "-f",           config.build.dockerfile,
                                    "-t",           image_ref(config, version.id),
                                    "--label",      "podlift.service=" + config.service,
                                    "--label",      "podlift.version=" + version.id};
  for (const auto& [k, v] : config.build.args) {
    build.push_back("--build-arg");
    build.push_back(k + "=" + v);
  }
  build.push_back("-");
  return {"bash", "-o", "pipefail", "-c", shell_pipeline({archive, build})};
}

void build_image(ProcessRunner& runner, const Config& config, const AppVersion& version,
                 const std::function<void(const std::string&)>& on_line) {
  std::deque<std::string> tail;
  std::string partial;
  auto sink = [&](std::string_view chunk) {
    partial.append(chunk);
    size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      std::string line = partial.substr(0, nl);
      partial.erase(0, nl + 1);
      if (on_line) on_line(line);
      tail.push_back(line);
      if (tail.size() > 25) tail.pop_front();
    }
  };
  ProcessOptions opts;
  opts.on_stdout = sink;
  opts.on_stderr = sink;
  auto r = runner.run(build_command(config, version), opts);
  if (!partial.empty()) sink("\n");
  if (!r) throw Error("docker build: " + r.error());
  if (r->exit_code != 0) {
    std::string text;
    for (const auto& l : tail) text += "\n  | " + l;
    throw Error("docker build failed (exit " + std::to_string(r->exit_code) + "):" + text);
  }
}

std::vector<std::string> docker_run_argv(const Config& config, const RunSpec& spec) {
  return {"docker",
          "run",
          "--detach",
          "--name",
          spec.name,
          "--label",
          "podlift.service=" + config.service,
          "--label",
          "podlift.version=" + spec.version_id,
          "--label",
          "podlift.role=web",
          "--label",
          "podlift.port=" + spec.host_port,
          "--restart",
          "unless-stopped",
          "--env-file",
          spec.env_file,
          "--publish",
          "127.0.0.1:" + spec.host_port + ":" + std::to_string(config.app_port),
          spec.image};
}

std::vector<std::string> docker_ps_argv(const std::string& service) {
  return {"docker",     "ps",        "--all",
          "--no-trunc", "--filter",  "label=podlift.service=" + service,
          "--format",   "{{json .}}"};
}

std::string env_dir(const std::string& service) {
  return "/var/lib/podlift/" + service;
}

std::string env_file_path(const std::string& service, const std::string& container) {
  return env_dir(service) + "/" + container + ".env";
}

std::string env_file_contents(const Config& config, const std::string& version_id,
                              bool redact_secrets) {
  // docker --env-file takes each line literally (no quoting); values with newlines cannot be
  // represented, which the config loader rejects... so guard here too.
  std::string out = "PODLIFT_SERVICE=" + config.service + "\nPODLIFT_VERSION=" + version_id + "\n";
  auto line = [&](const std::string& k, const std::string& v) {
    if (v.find('\n') != std::string::npos) {
      throw ConfigError("env value of " + k +
                        " contains a newline, which docker --env-file "
                        "cannot carry");
    }
    out += k + "=" + v + "\n";
  };
  for (const auto& [k, v] : config.env.clear) line(k, v);
  for (const auto& k : config.env.secret) {
    auto it = config.secrets.find(k);
    line(k, redact_secrets ? "[redacted]" : (it == config.secrets.end() ? "" : it->second));
  }
  return out;
}

std::string new_container_name(const std::string& service, const std::string& version_id) {
  static std::mt19937 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string suffix;
  for (int i = 0; i < 4; ++i) suffix += hex[rng() % 16];
  std::string v = version_id.substr(0, 12);
  if (version_id.find("-dirty-") != std::string::npos) v += "-dirty";
  return service + "-" + v + "-" + suffix;
}

}  // namespace podlift
