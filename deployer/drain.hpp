// Taking a slot out of service without touching nginx: new TCP connections from nginx
// (127.0.0.1) to 127.0.0.1:<port> are refused (an iptables REJECT with tcp-reset for SYNs arriving
// on lo) while established connections — requests in flight — run to completion. nginx sees a
// refused connect and passes the request to the other slot.
//
// A new version's slot is gated the same way from before `docker run` until it is healthy:
// docker-proxy accepts connections on a published port before the app listens and then resets
// them, which nginx cannot retry for a POST it already sent. Health probes come from
// kProbeSource (another loopback address), which the rule does not match.
//
// Rules carry the comment "podlift:<service>" so a deploy that was killed half-way can have its
// rules cleared by the next one.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "deployer/remote.hpp"

namespace podlift {

inline constexpr const char* kGatedSource = "127.0.0.1";
inline constexpr const char* kProbeSource = "127.0.0.2";

// The iptables rule spec (without -I/-D) that gates `port` (a number, or a placeholder in plans).
std::vector<std::string> gate_rule(const std::string& service, const std::string& port);

class PortGate {
 public:
  PortGate(RemoteExecutor& remote, std::string service)
      : remote_(remote), service_(std::move(service)) {}
  // Refuses new connections to the port. Throws Error if iptables fails.
  void close(int port);
  // Accepts them again (removes every copy of the rule); best effort.
  void open(int port);
  // Removes every gate rule of this service; best effort.
  void clear_all();
  // Waits until no established connection to the port remains or `timeout` passes; returns how
  // many were still open.
  int wait_drained(int port, Clock& clock, std::chrono::milliseconds timeout);

 private:
  RemoteExecutor& remote_;
  std::string service_;
};

}  // namespace podlift
