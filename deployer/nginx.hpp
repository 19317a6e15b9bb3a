// The nginx site podlift writes for a service, and how a switch uses it.
//
// Zero downtime without a reload per deploy: the upstream lists two fixed "slot" ports on the
// server's loopback. The live version listens on one; a deploy starts the new version on the
// other, and the old one is taken out by refusing new connections to its port (see drain.hpp)
// rather than by rewriting nginx. nginx tries the next slot on a refused connection, which is
// safe for every method because the request was never sent. The site only changes (nginx -t +
// reload) when the slots, listen port or server_name change, e.g. on the first deploy.
#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "deployer/remote.hpp"

namespace podlift {

// /etc/nginx/conf.d/podlift-<service>.conf
std::string nginx_site_path(const std::string& service);

// The two slot ports of a service's upstream.
struct Slots {
  int a = 0;
  int b = 0;
  bool has(int port) const { return port == a || port == b; }
  int other(int port) const { return port == a ? b : a; }
};

// The site: an upstream on 127.0.0.1:<slot_a> and 127.0.0.1:<slot_b> (no upstream keepalive, so
// a refused connect is the only way a slot turns traffic away), a server on nginx.listen for
// nginx.server_name ("_" = catch-all, written as default_server), proxy headers, and an
// X-Podlift-Upstream response header that lets podlift ask nginx which slot answered.
// Slots are port numbers, or placeholders such as "$PORT" when rendering a plan.
std::string render_nginx_site(const Config& config, const std::string& slot_a,
                              const std::string& slot_b);

// The slots of a site podlift wrote (nullopt if not ours, absent, or from an older format).
std::optional<Slots> parse_nginx_site(const std::string& text);

class NginxSite {
 public:
  NginxSite(RemoteExecutor& remote, const Config& config) : remote_(remote), config_(config) {}
  // The site installed before this object changed anything (nullopt: none); read once.
  std::optional<std::string> current();
  // Throws Error naming the process if the listen port is held by something other than nginx.
  void check_listen_port();
  // Makes the installed site equal `text`. If it already is, nothing happens. Otherwise: write
  // atomically, `nginx -t` (on failure: put the previous file back and throw with nginx's text),
  // reload. Returns whether it reloaded.
  bool ensure(const std::string& text);
  // Puts back what was there before ensure() changed it, and reloads (no-op if unchanged).
  void restore();
  // Asks nginx until every one of `count` consecutive requests to healthcheck.path is answered
  // by 127.0.0.1:<port> (X-Podlift-Upstream), for up to ~10 s. Throws Error with the last
  // answers seen otherwise.
  void confirm_answering(int port, Clock& clock, int count = 4);

 private:
  RemoteExecutor& remote_;
  const Config& config_;
  bool changed_ = false;
  bool read_ = false;
  std::optional<std::string> previous_;
};

}  // namespace podlift
