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

std::string render_nginx_site(const Config& config, const std::string& slot_a,
                              const std::string& slot_b) {
  const std::string up = "podlift_" + config.service;
  const bool catch_all = config.nginx.server_name == "_";
  std::string s;
  s += "# Managed by podlift; rewritten only when slots, listen or server_name change.\n";
  s += "# podlift-service: " + config.service + "\n";
  s += "# podlift-slots: " + slot_a + " " + slot_b + "\n";
  s += "upstream " + up + " {\n";
  // max_fails=0: never mark a slot dead; a refused connect is instant and passed to the other.
  s += "    server 127.0.0.1:" + slot_a + " max_fails=0;\n";
  s += "    server 127.0.0.1:" + slot_b + " max_fails=0;\n";
  s += "}\n\n";
  s += "server {\n";
  s += "    listen " + std::to_string(config.nginx.listen) + (catch_all ? " default_server" : "") +
       ";\n";
  s += "    server_name " + config.nginx.server_name + ";\n";
  s += "    location / {\n";
  s += "        proxy_pass http://" + up + ";\n";
  s += "        proxy_set_header Host $host;\n";
  s += "        proxy_set_header X-Real-IP $remote_addr;\n";
  s += "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n";
  s += "        proxy_set_header X-Forwarded-Proto $scheme;\n";
  s += "        proxy_next_upstream error timeout;\n";
  s += "        add_header X-Podlift-Upstream $upstream_addr always;\n";
  s += "    }\n";
  s += "}\n";
  return s;
}

std::optional<Slots> parse_nginx_site(const std::string& text) {
  static const std::regex slots_re("# podlift-slots: ([0-9]+) ([0-9]+)");
  std::smatch m;
  if (!std::regex_search(text, m, slots_re)) return std::nullopt;
  Slots s{std::stoi(m[1]), std::stoi(m[2])};
  if (s.a <= 0 || s.b <= 0 || s.a == s.b) return std::nullopt;
  return s;
}

std::optional<std::string> NginxSite::current() {
  if (!read_) {
    previous_ = read_remote_file(remote_, nginx_site_path(config_.service));
    read_ = true;
  }
  return previous_;
}

void NginxSite::check_listen_port() {
  // Who listens on the port now? Only nginx (or nobody) is acceptable.
  const std::string port = std::to_string(config_.nginx.listen);
  RemoteCommand cmd;
  cmd.argv = {"ss", "-Hltnp", "sport = :" + port};
  auto r = remote_.run(cmd);
  if (!r || r->exit_status != 0) return;  // no ss: nginx -t and the confirmation still guard
  const std::string& out = r->out;
  if (out.empty() || out.find("\"nginx\"") != std::string::npos) return;
  std::smatch m;
  static const std::regex user_re("users:\\(\\(\"([^\"]+)\",pid=([0-9]+)");
  std::string who = "another process";
  if (std::regex_search(out, m, user_re)) who = "\"" + m[1].str() + "\" (pid " + m[2].str() + ")";
  throw Error("port " + port + " on " + remote_.name() + " is already taken by " + who +
              ", so nginx cannot listen on it; free the port or change nginx.listen");
}

bool NginxSite::ensure(const std::string& text) {
  auto before = current();
  if (before && *before == text) return false;
  const std::string path = nginx_site_path(config_.service);
  changed_ = true;
  write_remote_file(remote_, path, text, "644");
  RemoteCommand test;
  test.argv = {"nginx", "-t", "-q"};
  auto t = remote_.run(test);
  if (!t || t->exit_status != 0) {
    std::string why = trim_right(t ? t->err : t.error());
    restore();
    throw Error("nginx rejected the new site on " + remote_.name() +
                " (previous site kept): " + why);
  }
  run_checked(remote_, {"nginx", "-s", "reload"}, "reloading nginx");
  return true;
}

void NginxSite::restore() {
  if (!changed_) return;
  changed_ = false;
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

void NginxSite::confirm_answering(int port, Clock& clock, int count) {
  // A reload is asynchronous and may fail after the signal was accepted (e.g. bind() on a busy
  // port), so ask nginx itself which slot answers.
  const std::string want = "127.0.0.1:" + std::to_string(port);
  std::string host = config_.nginx.server_name == "_" ? "localhost" : config_.nginx.server_name;
  std::string url =
      "http://127.0.0.1:" + std::to_string(config_.nginx.listen) + config_.healthcheck.path;
  std::string seen;
  int in_a_row = 0;
  for (int attempt = 0; attempt < 60 && in_a_row < count; ++attempt) {
    RemoteCommand cmd;
    cmd.argv = {"curl",       "-s",
                "-o",         "/dev/null",
                "--max-time", "2",
                "-H",         "Host: " + host,
                "-w",         "%{http_code} %header{x-podlift-upstream}",
                url};
    auto r = remote_.run(cmd);
    seen = r ? (r->exit_status == 0 ? r->out : "curl exit " + std::to_string(r->exit_status))
             : r.error();
    // The header lists every upstream tried ("a, b"); the last one answered.
    auto comma = seen.rfind(", ");
    std::string last =
        comma == std::string::npos ? seen.substr(seen.find(' ') + 1) : seen.substr(comma + 2);
    bool ok = seen.rfind("2", 0) == 0 && last == want;
    in_a_row = ok ? in_a_row + 1 : 0;
    if (!ok) clock.sleep_for(std::chrono::milliseconds(200));
  }
  if (in_a_row >= count) return;
  throw Error("nginx on " + remote_.name() + " does not route to the new version on port " +
              std::to_string(port) + " (last answer: " + (seen.empty() ? "none" : seen) +
              "); check `nginx -t` and the nginx error log");
}

}  // namespace podlift
