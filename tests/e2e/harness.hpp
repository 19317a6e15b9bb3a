// The e2e harness: real test servers (containers running sshd, dockerd and nginx, reached only
// through ports published on the build box's loopback), real git repositories of the sample
// app, and the real podlift binary; every part is the real thing.
#pragma once

#include <string>
#include <vector>

namespace podlift::e2e {

struct Exec {
  int rc = -1;
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// Runs a shell command line (built with shell_quote by the caller) on the build box.
Exec sh(const std::string& command, int timeout_seconds = 600);
// Runs argv (quoted here) on the build box.
Exec run(const std::vector<std::string>& argv, int timeout_seconds = 600);
std::string docker();  // the engine's own client

// Prepares the build box once per process: dockerd, base image, test-server image, an SSH key.
// Returns "" when ready, else why e2e cannot run here (the test then skips and says so).
const std::string& prepare_environment();
std::string work_dir();    // a per-process temp dir
std::string ssh_key();     // private key path (ed25519) authorized on every test server
std::string source_dir();  // the podlift source tree
std::string podlift_bin();

class TestServer {
 public:
  explicit TestServer(const std::string& name);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  const std::string& name() const { return name_; }
  int ssh_port() const { return ssh_port_; }
  int http_port() const { return http_port_; }  // the server's nginx port 80 on our loopback
  int http_port_8080() const { return http8080_port_; }
  // "[127.0.0.1]:PORT ssh-ed25519 AAAA..." for a known_hosts file.
  std::string known_hosts_line() const;
  // Runs a command inside the server (test assertions and sabotage only; podlift uses SSH).
  Exec exec(const std::string& shell_command) const;
  void pause();
  void unpause();

 private:
  std::string name_;
  int ssh_port_ = 0;
  int http_port_ = 0;
  int http8080_port_ = 0;
  std::string host_key_;
};

// A git repository holding a copy of examples/hello, with one commit made.
class AppRepo {
 public:
  explicit AppRepo(const std::string& dir);
  const std::string& dir() const { return dir_; }
  // Writes a file (relative path), commits everything, returns the new HEAD SHA.
  std::string commit_file(const std::string& path, const std::string& content,
                          const std::string& message);
  std::string remove_and_commit(const std::string& path, const std::string& message);
  std::string head() const;
  void write(const std::string& path, const std::string& content) const;

 private:
  std::string dir_;
};

struct Http {
  int status = 0;
  std::string body;
  std::string upstream_header;  // X-Podlift-Upstream: which slot answered
};
// GET http://127.0.0.1:<port><path> from the build box.
Http http_get(int port, const std::string& path = "/", const std::string& host = "");

// The sample app wired to its own test server: a git repository with podlift.yml (untracked),
// a .env secret, and a known_hosts file holding the server's real host key.
class Deployment {
 public:
  explicit Deployment(const std::string& name);
  TestServer& server() { return server_; }
  AppRepo& repo() { return repo_; }
  const std::string& known_hosts() const { return known_hosts_; }
  // Writes podlift.yml; `extra` is appended verbatim (YAML).
  void write_config(const std::string& extra = "", int listen = 80,
                    const std::string& server_name = "_");
  Exec podlift(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
               int timeout_seconds = 600);
  // What the server's nginx serves now, and the SHA in the sample app's answer.
  Http served();
  std::string served_version();
  int container_count();  // containers of the service on the server, any state

 private:
  TestServer server_;
  AppRepo repo_;
  std::string known_hosts_;
};

// wrk's totals: "N requests in", and the errors it prints only when there are some (socket
// errors of every kind, non-2xx/3xx responses), summed as failed.
struct WrkTotals {
  long requests = 0;
  long failed = 0;
};
WrkTotals parse_wrk(const std::string& out);

void sleep_ms(int ms);
std::string read_file(const std::string& path);

// A podlift command running in the background (so a test can signal it), in `cwd`; `env` is
// shell text of VAR=value words put before the command. Output goes to a file.
class Background {
 public:
  Background(const std::string& cwd, const std::string& args, const std::string& env = "");
  int pid() const;
  std::string out() const;
  // The exit code once it has ended (waits up to `seconds`), or -1.
  int wait(int seconds) const;
  // Waits for `text` to appear in the output after its first `from` bytes.
  bool wait_for_output(const std::string& text, int seconds, size_t from = 0) const;

 private:
  std::string dir_;
};

// Runs the podlift binary in `cwd` with extra environment entries "K=V".
Exec podlift(const std::string& cwd, const std::vector<std::string>& args,
             const std::vector<std::string>& env = {}, int timeout_seconds = 600);

}  // namespace podlift::e2e
