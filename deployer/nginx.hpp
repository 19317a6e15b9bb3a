// The nginx site podlift writes for a service, and switching it on a server.
#pragma once

#include <optional>
#include <string>

#include "core/config.hpp"
#include "deployer/remote.hpp"

namespace podlift {

// /etc/nginx/conf.d/podlift-<service>.conf
std::string nginx_site_path(const std::string& service);

// The site: an upstream on 127.0.0.1:<upstream_port>, a server on nginx.listen for
// nginx.server_name ("_" = catch-all, written as default_server), proxy headers, and an
// X-Podlift-Version response header that lets podlift confirm through nginx which version answers.
// upstream_port is a port number, or "$PORT" when rendering a plan.
std::string render_nginx_site(const Config& config, const std::string& upstream_port,
                              const std::string& version_id);

// Reads the version and upstream port out of a site podlift wrote (nullopt if not ours/absent).
struct SiteInfo {
  std::string version_id;
  int upstream_port = 0;
};
std::optional<SiteInfo> parse_nginx_site(const std::string& text);

// Installs a site on a server: write atomically, `nginx -t`, reload, then poll through nginx
// (http://127.0.0.1:<listen><healthcheck.path>, Host: server_name) until X-Podlift-Version equals
// version_id. On any failure the previous site (or none) is put back, nginx reloaded, and
// Error thrown with nginx's own message. Before writing, a listen port held by a process that
// is not nginx is reported as an error naming that process, and nothing changes.
class NginxSwitch {
 public:
  NginxSwitch(RemoteExecutor& remote, const Config& config) : remote_(remote), config_(config) {}
  // The site installed before this switch (nullopt: none); read once, then remembered.
  std::optional<std::string> current();
  void check_listen_port();
  void install(const std::string& site_text, const std::string& version_id);
  // Puts back what was there before install() (a no-op if install was not called).
  void restore();

 private:
  void reload();
  void verify(const std::string& version_id);
  RemoteExecutor& remote_;
  const Config& config_;
  bool installed_ = false;
  bool read_ = false;
  std::optional<std::string> previous_;
};

}  // namespace podlift
