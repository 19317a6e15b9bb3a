#include "deployer/nginx.hpp"

#include <chrono>
#include <regex>
#include <thread>

#include "core/text.hpp"
#include "deployer/files.hpp"

namespace podlift {

std::string nginx_site_path(const std::string& service) {
  return "/etc/nginx/conf.d/podlift-" + service + ".conf";
}

std::string render_nginx_site(const Config& config, const std::string& upstream_port,
                              const std::string& version_id) {
  const std::string up = "podlift_" + config.service;
  const std::string port = std::to_string(config.nginx.listen);
  const bool catch_all = config.nginx.server_name == "_";
  std::string s;
  s += "# Managed by podlift; rewritten on every deploy. Do not edit.\n";
  s += "# podlift-service: " + config.service + "\n";
  s += "# podlift-version: " + version_id + "\n";
  s += "# podlift-upstream-port: " + upstream_port + "\n";
  s += "upstream " + up + " {\n";
  s += "    server 127.0.0.1:" + upstream_port + ";\n";
  s += "    keepalive 32;\n";
  s += "}\n\n";
  s += "server {\n";
  s += "    listen " + port + (catch_all ? " default_server" : "") + ";\n";
  s += "    server_name " + config.nginx.server_name + ";\n";
  s += "    location / {\n";
  s += "        proxy_pass http://" + up + ";\n";
  s += "        proxy_http_version 1.1;\n";
  s += "        proxy_set_header Connection \"\";\n";
  s += "        proxy_set_header Host $host;\n";
  s += "        proxy_set_header X-Real-IP $remote_addr;\n";
  s += "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n";
  s += "        proxy_set_header X-Forwarded-Proto $scheme;\n";
  s += "        proxy_next_upstream error timeout;\n";
  s += "        add_header X-Podlift-Version " + version_id + " always;\n";
  s += "    }\n";
  s += "}\n";
  return s;
}

std::optional<SiteInfo> parse_nginx_site(const std::string& text) {
  static const std::regex version_re("# podlift-version: ([0-9a-z-]+)");
  static const std::regex port_re("# podlift-upstream-port: ([0-9]+)");
  std::smatch m;
  SiteInfo info;
  if (!std::regex_search(text, m, version_re)) return std::nullopt;
  info.version_id = m[1];
  if (std::regex_search(text, m, port_re)) info.upstream_port = std::stoi(m[1]);
  return info;
}

std::optional<std::string> NginxSwitch::current() {
  if (!read_) {
    previous_ = read_remote_file(remote_, nginx_site_path(config_.service));
    read_ = true;
  }
  return previous_;
}

void NginxSwitch::check_listen_port() {
  // Who listens on the port now? Only nginx (or nobody) is acceptable.
  const std::string port = std::to_string(config_.nginx.listen);
  RemoteCommand cmd;
  cmd.argv = {"ss", "-Hltnp", "sport = :" + port};
  auto r = remote_.run(cmd);
  if (!r || r->exit_status != 0) return;  // no ss: nginx -t and the verify step still guard
  const std::string& out = r->out;
  if (out.empty() || out.find("\"nginx\"") != std::string::npos) return;
  std::smatch m;
  static const std::regex user_re("users:\\(\\(\"([^\"]+)\",pid=([0-9]+)");
  std::string who = "another process";
  if (std::regex_search(out, m, user_re)) who = "\"" + m[1].str() + "\" (pid " + m[2].str() + ")";
  throw Error("port " + port + " on " + remote_.name() + " is already taken by " + who +
              ", so nginx cannot listen on it; free the port or change nginx.listen");
}

void NginxSwitch::install(const std::string& site_text, const std::string& version_id) {
  const std::string path = nginx_site_path(config_.service);
  current();  // remembers what to restore
  installed_ = true;
  write_remote_file(remote_, path, site_text, "644");
  RemoteCommand test;
  test.argv = {"nginx", "-t", "-q"};
  auto t = remote_.run(test);
  if (!t || t->exit_status != 0) {
    std::string why = trim_right(t ? t->err : t.error());
    restore();
    throw Error("nginx rejected the new site on " + remote_.name() +
                " (previous site kept): " + why);
  }
  try {
    reload();
    verify(version_id);
  } catch (const Error&) {
    restore();
    throw;
  }
}

void NginxSwitch::restore() {
  if (!installed_) return;
  installed_ = false;
  const std::string path = nginx_site_path(config_.service);
  if (previous_) {
    write_remote_file(remote_, path, *previous_, "644");
  } else {
    remove_remote_file(remote_, path);
  }
  RemoteCommand reload_cmd;
  reload_cmd.argv = {"nginx", "-s", "reload"};
  (void)remote_.run(reload_cmd);  // best effort: we are already reporting an error
}

void NginxSwitch::reload() {
  run_checked(remote_, {"nginx", "-s", "reload"}, "reloading nginx");
}

void NginxSwitch::verify(const std::string& version_id) {
  // A reload is asynchronous and may fail after the signal was accepted (e.g. bind() on a busy
  // port), so ask nginx itself which version answers.
  std::string host = config_.nginx.server_name == "_" ? "localhost" : config_.nginx.server_name;
  std::string url =
      "http://127.0.0.1:" + std::to_string(config_.nginx.listen) + config_.healthcheck.path;
  std::string seen;
  for (int attempt = 0; attempt < 40; ++attempt) {
    RemoteCommand cmd;
    cmd.argv = {"curl",       "-s",
                "-o",         "/dev/null",
                "--max-time", "2",
                "-H",         "Host: " + host,
                "-w",         "%{http_code} %header{x-podlift-version}",
                url};
    auto r = remote_.run(cmd);
    if (r && r->exit_status == 0) {
      seen = r->out;
      if (seen.size() > 4 && seen.substr(4) == version_id) return;
    } else {
      seen = r ? ("curl exit " + std::to_string(r->exit_status)) : r.error();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  throw Error("nginx on " + remote_.name() + " does not serve version " + version_id +
              " after reload (last answer: " + (seen.empty() ? "none" : seen) +
              "); check `nginx -t` and the nginx error log");
}

}  // namespace podlift
