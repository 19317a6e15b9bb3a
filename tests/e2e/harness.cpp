#include "harness.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/process.hpp"
#include "core/quote.hpp"

namespace podlift::e2e {

namespace fs = std::filesystem;

Exec sh(const std::string& command, int timeout_seconds) {
  SystemProcessRunner runner;
  ProcessOptions opts;
  opts.timeout = std::chrono::seconds(timeout_seconds);
  auto r = runner.run({"bash", "-c", command}, opts);
  if (!r) return Exec{-1, "", r.error()};
  return Exec{r->exit_code, r->out, r->err};
}

Exec run(const std::vector<std::string>& argv, int timeout_seconds) {
  return sh(shell_join(argv), timeout_seconds);
}

std::string docker() {
  return "/usr/bin/docker";
}
std::string source_dir() {
  return PODLIFT_SOURCE_DIR;
}
std::string podlift_bin() {
  return PODLIFT_BIN;
}

std::string work_dir() {
  // Removed when the suite's process ends, unless PODLIFT_E2E_KEEP is set.
  struct Dir {
    std::string path;
    Dir() {
      path = (fs::temp_directory_path() / "podlift-e2e.XXXXXX").string();
      if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed");
    }
    ~Dir() {
      std::error_code ec;
      if (!std::getenv("PODLIFT_E2E_KEEP")) fs::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

std::string ssh_key() {
  return work_dir() + "/id_ed25519";
}

const std::string& prepare_environment() {
  static const std::string why = []() -> std::string {
    if (geteuid() != 0) return "e2e tests need root (they start dockerd and test servers)";
    Exec env = run({"bash", source_dir() + "/scripts/testenv.sh"}, 900);
    if (env.rc != 0) return "cannot prepare test servers: " + env.err;
    Exec key =
        run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "podlift-e2e", "-f", ssh_key()});
    if (key.rc != 0) return "ssh-keygen failed: " + key.err;
    return "";
  }();
  return why;
}

namespace {
int published_port(const std::string& container, int port) {
  Exec r = run({docker(), "port", container, std::to_string(port) + "/tcp"});
  auto colon = r.out.rfind(':');
  if (r.rc != 0 || colon == std::string::npos) {
    throw std::runtime_error("no published port " + std::to_string(port) + " on " + container +
                             ": " + r.err);
  }
  return std::atoi(r.out.c_str() + colon + 1);
}
}  // namespace

TestServer::TestServer(const std::string& name) : name_("podlift-e2e-" + name) {
  run({docker(), "rm", "-f", name_});
  Exec r = run({docker(),
                "run",
                "-d",
                "--name",
                name_,
                "--hostname",
                name,
                "--cap-add",
                "ALL",
                "--cap-drop",
                "SYS_RESOURCE",
                "--security-opt",
                "seccomp=unconfined",
                "--security-opt",
                "apparmor=unconfined",
                "--security-opt",
                "systempaths=unconfined",
                "--cgroupns",
                "host",
                "-v",
                "/sys/fs/cgroup:/sys/fs/cgroup",
                "--tmpfs",
                "/var/lib/docker:exec",
                "-v",
                ssh_key() + ".pub:/authorized_keys:ro",
                "-p",
                "127.0.0.1::22",
                "-p",
                "127.0.0.1::80",
                "-p",
                "127.0.0.1::8080",
                "podlift-testserver:latest"});
  if (r.rc != 0) throw std::runtime_error("cannot start test server " + name_ + ": " + r.err);
  for (int i = 0; i < 300; ++i) {
    if (exec("test -f /run/podlift-testserver-ready").rc == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (exec("test -f /run/podlift-testserver-ready").rc != 0) {
    throw std::runtime_error("test server " + name_ + " did not become ready");
  }
  ssh_port_ = published_port(name_, 22);
  http_port_ = published_port(name_, 80);
  http8080_port_ = published_port(name_, 8080);
  Exec key = exec("cat /etc/ssh/ssh_host_ed25519_key.pub");
  std::stringstream ss(key.out);
  std::string type, blob;
  ss >> type >> blob;
  host_key_ = type + " " + blob;
}

TestServer::~TestServer() {
  if (std::getenv("PODLIFT_E2E_KEEP")) return;
  run({docker(), "rm", "-f", name_});
}

std::string TestServer::known_hosts_line() const {
  return "[127.0.0.1]:" + std::to_string(ssh_port_) + " " + host_key_;
}

Exec TestServer::exec(const std::string& shell_command) const {
  return run({docker(), "exec", name_, "bash", "-c", shell_command});
}

void TestServer::pause() {
  run({docker(), "pause", name_});
}
void TestServer::unpause() {
  run({docker(), "unpause", name_});
}

AppRepo::AppRepo(const std::string& dir) : dir_(dir) {
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  for (const char* f : {"app.pl", "Dockerfile", "message.txt", ".dockerignore"}) {
    fs::copy_file(source_dir() + "/examples/hello/" + f, dir_ + "/" + f);
  }
  Exec r = sh("cd " + shell_quote(dir_) +
              " && git init -q -b main && git config user.email e2e@podlift.test"
              " && git config user.name e2e && git add -A && git commit -q -m 'sample app'");
  if (r.rc != 0) throw std::runtime_error("git init failed: " + r.err);
}

void AppRepo::write(const std::string& path, const std::string& content) const {
  fs::create_directories(fs::path(dir_ + "/" + path).parent_path());
  std::ofstream(dir_ + "/" + path, std::ios::trunc) << content;
}

std::string AppRepo::commit_file(const std::string& path, const std::string& content,
                                 const std::string& message) {
  write(path, content);
  Exec r =
      sh("cd " + shell_quote(dir_) + " && git add -A && git commit -q -m " + shell_quote(message));
  if (r.rc != 0) throw std::runtime_error("git commit failed: " + r.err + r.out);
  return head();
}

std::string AppRepo::remove_and_commit(const std::string& path, const std::string& message) {
  Exec r = sh("cd " + shell_quote(dir_) + " && git rm -q " + shell_quote(path) +
              " && git commit -q -m " + shell_quote(message));
  if (r.rc != 0) throw std::runtime_error("git rm failed: " + r.err);
  return head();
}

std::string AppRepo::head() const {
  Exec r = run({"git", "-C", dir_, "rev-parse", "HEAD"});
  std::string s = r.out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

Http http_get(int port, const std::string& path, const std::string& host) {
  std::vector<std::string> argv = {"curl",
                                   "-s",
                                   "--max-time",
                                   "5",
                                   "-D",
                                   "-",
                                   "http://127.0.0.1:" + std::to_string(port) + path};
  if (!host.empty()) argv.insert(argv.begin() + 1, {"-H", "Host: " + host});
  Exec r = run(argv);
  Http h;
  auto split = r.out.find("\r\n\r\n");
  if (split == std::string::npos) return h;
  std::string head = r.out.substr(0, split);
  h.body = r.out.substr(split + 4);
  h.status = std::atoi(head.c_str() + head.find(' ') + 1);
  std::stringstream ss(head);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.rfind("X-Podlift-Upstream: ", 0) == 0) {
      h.upstream_header = line.substr(20);
      while (!h.upstream_header.empty() && h.upstream_header.back() == '\r')
        h.upstream_header.pop_back();
    }
  }
  return h;
}

WrkTotals parse_wrk(const std::string& out) {
  WrkTotals t;
  std::stringstream ss(out);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.find("requests in") != std::string::npos) t.requests = std::atol(line.c_str());
    if (line.find("Socket errors:") != std::string::npos) {
      for (const char* k : {"connect ", "read ", "write ", "timeout "}) {
        auto at = line.find(k);
        if (at != std::string::npos) t.failed += std::atol(line.c_str() + at + std::strlen(k));
      }
    }
    auto non2xx = line.find("Non-2xx or 3xx responses:");
    if (non2xx != std::string::npos) t.failed += std::atol(line.c_str() + non2xx + 25);
  }
  return t;
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

Background::Background(const std::string& cwd, const std::string& args, const std::string& env) {
  static int counter = 0;
  dir_ = work_dir() + "/bg-" + std::to_string(++counter);
  sh("mkdir -p " + shell_quote(dir_));
  // Only the inner group is backgrounded, with its output redirected, so sh() returns at once.
  sh("cd " + shell_quote(cwd) + "; ( " + env + " " + shell_quote(podlift_bin()) + " " + args +
     " > " + shell_quote(dir_ + "/out") + " 2>&1 & echo $! > " + shell_quote(dir_ + "/pid") +
     "; wait $!; echo $? > " + shell_quote(dir_ + "/rc") + " ) > /dev/null 2>&1 &");
  for (int i = 0; i < 50 && pid() == 0; ++i) sleep_ms(100);
}

int Background::pid() const {
  return std::atoi(read_file(dir_ + "/pid").c_str());
}

std::string Background::out() const {
  return read_file(dir_ + "/out");
}

int Background::wait(int seconds) const {
  for (int i = 0; i < seconds * 10; ++i) {
    std::string rc = read_file(dir_ + "/rc");
    if (!rc.empty()) return std::atoi(rc.c_str());
    sleep_ms(100);
  }
  return -1;
}

bool Background::wait_for_output(const std::string& text, int seconds, size_t from) const {
  for (int i = 0; i < seconds * 10; ++i) {
    if (out().find(text, from) != std::string::npos) return true;
    sleep_ms(100);
  }
  return false;
}

Exec podlift(const std::string& cwd, const std::vector<std::string>& args,
             const std::vector<std::string>& env, int timeout_seconds) {
  std::vector<std::string> argv = {"env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(podlift_bin());
  argv.insert(argv.end(), args.begin(), args.end());
  return sh("cd " + shell_quote(cwd) + " && " + shell_join(argv), timeout_seconds);
}

Deployment::Deployment(const std::string& name)
    : server_(name),
      repo_(work_dir() + "/" + name + "-app"),
      known_hosts_(work_dir() + "/" + name + "-known_hosts") {
  std::ofstream(known_hosts_) << server_.known_hosts_line() << "\n";
  std::ofstream(repo_.dir() + "/.git/info/exclude", std::ios::app) << "podlift.yml\n.env\n";
  repo_.write(".env", "HELLO_TOKEN=s3cr3t-token-value\n");
  write_config();
}

void Deployment::write_config(const std::string& extra, int listen,
                              const std::string& server_name) {
  std::ofstream(repo_.dir() + "/podlift.yml", std::ios::trunc)
      << "service: hello\napp_port: 3000\n"
      << "healthcheck:\n  path: /up\n  interval: 500ms\n  deadline: 30s\n"
      << "env:\n  clear:\n    GREETING: hi\n  secret:\n    - HELLO_TOKEN\n"
      << "servers:\n  - host: 127.0.0.1\n    port: " << server_.ssh_port()
      << "\n    identity_file: " << ssh_key() << "\n"
      << "ssh:\n  known_hosts: " << known_hosts_ << "\n  connect_timeout: 5s\n"
      << "nginx:\n  server_name: " << server_name << "\n  listen: " << listen << "\n"
      << "retain: 3\n"
      << extra;
}

Exec Deployment::podlift(const std::vector<std::string>& args, const std::vector<std::string>& env,
                         int timeout_seconds) {
  return e2e::podlift(repo_.dir(), args, env, timeout_seconds);
}

Http Deployment::served() {
  return http_get(server_.http_port(), "/");
}

std::string Deployment::served_version() {
  std::string body = served().body;
  auto at = body.find("version ");
  if (at == std::string::npos) return "";
  return body.substr(at + 8, body.find_first_of(": \n", at + 8) - at - 8);
}

int Deployment::container_count() {
  return std::atoi(
      server_.exec("docker ps -aq --filter label=podlift.service=hello | wc -l").out.c_str());
}

}  // namespace podlift::e2e
