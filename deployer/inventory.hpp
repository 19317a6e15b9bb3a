// What runs on a server: the containers of one service, read from docker's labels.
#pragma once

#include <string>
#include <vector>

#include "deployer/remote.hpp"

namespace podlift {

struct ContainerInfo {
  std::string id;
  std::string name;
  std::string version_id;  // label podlift.version
  std::string role;        // label podlift.role
  int host_port = 0;       // label podlift.port
  std::string image;
  std::string state;       // running, exited, created, restarting, ...
  std::string status;      // docker's human text ("Up 3 minutes")
  std::string created_at;  // docker's timestamp text
  bool running() const { return state == "running" || state == "restarting"; }
};

// Parses `docker ps --format '{{json .}}'` output (one object per line). Lines that are not
// JSON objects are skipped.
std::vector<ContainerInfo> parse_docker_ps(const std::string& text);

// The service's containers on the server, newest first.
std::vector<ContainerInfo> list_containers(RemoteExecutor& remote, const std::string& service);

}  // namespace podlift
