// The health gate: HTTP GET from the server itself to the new container's published port.
// A bare TCP connect is not health (docker-proxy accepts before the app listens).
#pragma once

#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "deployer/remote.hpp"

namespace podlift {

struct HealthResult {
  bool healthy = false;
  int attempts = 0;
  std::string last;  // last status or error seen, e.g. "HTTP 503" or "connection refused"
};

// The curl argv used for one probe (prints the HTTP status code); port may be "$PORT" in plans.
std::vector<std::string> health_probe_argv(const HealthcheckConfig& hc, const std::string& port);

// Probes every hc.interval until a 2xx or hc.deadline. Stops early when the container is no
// longer running (then `last` says so, with its exit code).
HealthResult wait_healthy(RemoteExecutor& remote, Clock& clock, const HealthcheckConfig& hc,
                          int port, const std::string& container);

}  // namespace podlift
