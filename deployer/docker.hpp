// Docker on the build box (build, save) and the argument vectors of docker commands run on
// servers. The argv builders are pure so the deploy and its --dry-run plan share them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/process.hpp"
#include "deployer/version.hpp"

namespace podlift {

// The docker client on the build box: $PODLIFT_DOCKER, else /usr/bin/docker (the engine's own
// client, see docs), else "docker" from PATH.
std::string local_docker();

// <image>:<version>, or <registry.server>/<image>:<version> in registry mode (an image that
// already starts with "<registry.server>/" is not prefixed twice).
std::string image_ref(const Config& config, const std::string& version_id);

// bash -o pipefail -c "git archive ... | docker build ... -": the committed tree as the context.
std::vector<std::string> build_command(const Config& config, const AppVersion& version);

// Builds the image (labels podlift.service, podlift.version). on_line gets each output line.
// Throws Error with the build's last lines on failure.
void build_image(ProcessRunner& runner, const Config& config, const AppVersion& version,
                 const std::function<void(const std::string&)>& on_line);

// Remote argv builders.
struct RunSpec {
  std::string name;   // container name
  std::string image;  // image ref
  std::string version_id;
  // Bound on 127.0.0.1 of the server: a port number, or "$PORT" when rendering a plan.
  std::string host_port;
  std::string env_file;  // path on the server
};
std::vector<std::string> docker_run_argv(const Config& config, const RunSpec& spec);
// Lists this service's containers, one JSON object per line.
std::vector<std::string> docker_ps_argv(const std::string& service);
std::string env_dir(const std::string& service);  // /var/lib/podlift/<service>
std::string env_file_path(const std::string& service, const std::string& container);
// KEY=VALUE lines for docker --env-file; PODLIFT_VERSION and PODLIFT_SERVICE come first.
// With redact_secrets, secret values are written as [redacted] (for plans).
std::string env_file_contents(const Config& config, const std::string& version_id,
                              bool redact_secrets);
// A container name for a new version: <service>-<12 hex>-<4 random hex>.
std::string new_container_name(const std::string& service, const std::string& version_id);

}  // namespace podlift
