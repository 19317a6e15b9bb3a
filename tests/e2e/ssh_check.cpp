// Manual integration check of the libssh executor against a real sshd (the e2e test server).
//
//   ssh_check connect HOST PORT USER KEY KNOWN_HOSTS [CONNECT_TIMEOUT_MS]
//       Connects and prints "connected as NAME", or the UnreachableError message (exit 4).
//   ssh_check suite HOST PORT USER KEY KNOWN_HOSTS [STREAM_MB]
//       Runs every run() behaviour on one connection (output, exit status, stderr, quoting, stdin,
//       large streams both ways, timeouts, signals, early-exiting readers, throwing sources) and
//       prints one line per check plus the measured stream throughput. Exit 1 if any check fails.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>

#include "core/error.hpp"
#include "deployer/remote.hpp"
#include "deployer/ssh.hpp"

using namespace podlift;
using Clock = std::chrono::steady_clock;

namespace {

int failures = 0;

void check(bool ok, const std::string& what, const std::string& detail = {}) {
  std::cout << (ok ? "ok    " : "FAIL  ") << what << (detail.empty() ? "" : ": " + detail) << "\n";
  if (!ok) ++failures;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

RemoteCommand cmd(std::vector<std::string> argv) {
  RemoteCommand c;
  c.argv = std::move(argv);
  return c;
}

// A StdinSource of `total` zero bytes.
StdinSource zeros(size_t total) {
  auto left = std::make_shared<size_t>(total);
  return [left](char* buf, size_t cap) {
    const size_t n = std::min(cap, *left);
    std::memset(buf, 0, n);
    *left -= n;
    return n;
  };
}

void suite(RemoteExecutor& r, bool root, size_t stream_mb) {
  // Output, stderr and exit status of one command.
  auto res = r.run(cmd({"sh", "-c", "echo out; echo err >&2; exit 3"}));
  check(res.ok() && res->out == "out\n" && res->err == "err\n" && res->exit_status == 3,
        "stdout/stderr/exit status",
        res.ok() ? "exit " + std::to_string(res->exit_status) : res.error());

  // Quoting survives the remote shell.
  res = r.run(cmd({"printf", "%s|", "a b", "it's", "$HOME", "`id`", "ü\nx"}));
  check(res.ok() && res->out == "a b|it's|$HOME|`id`|ü\nx|", "argv quoting",
        res.ok() ? res->out : res.error());

  // Small stdin, and a command that reads stdin getting EOF when there is none.
  auto c = cmd({"cat"});
  c.stdin_data = "hello\n";
  res = r.run(c);
  check(res.ok() && res->out == "hello\n", "stdin_data");
  res = r.run(cmd({"cat"}));
  check(res.ok() && res->out.empty() && res->exit_status == 0, "no stdin gives EOF");

  // A large stream into the server.
  const size_t bytes = stream_mb * 1024 * 1024;
  for (const char* sink : {"wc -c", "cat > /dev/null"}) {
    c = cmd({"sh", "-c", sink});
    c.stdin_source = zeros(bytes);
    c.idle_timeout = std::chrono::seconds(10);
    auto start = Clock::now();
    res = r.run(c);
    const double s = seconds_since(start);
    char rate[64];
    std::snprintf(rate, sizeof rate, "%zu MB in %.2fs = %.0f MB/s", stream_mb, s,
                  static_cast<double>(stream_mb) / s);
    const bool ok = res.ok() && res->exit_status == 0 &&
                    (std::string(sink) != "wc -c" || std::stoull(res->out) == bytes);
    check(ok, std::string("upload into `") + sink + "`", res.ok() ? rate : res.error());
  }

  // A large stream out of the server, to a sink.
  c = cmd({"head", "-c", std::to_string(bytes), "/dev/zero"});
  size_t got = 0;
  c.on_stdout = [&](std::string_view s) { got += s.size(); };
  auto start = Clock::now();
  res = r.run(c);
  double s = seconds_since(start);
  check(res.ok() && got == bytes && res->out.empty(), "download to a sink",
        std::to_string(got) + " bytes, " +
            std::to_string(static_cast<int>(static_cast<double>(stream_mb) / s)) + " MB/s");

  // Both directions at once: `cat` echoes everything, so a writer that stops draining deadlocks.
  c = cmd({"cat"});
  c.stdin_source = zeros(64u << 20);
  got = 0;
  c.on_stdout = [&](std::string_view s) { got += s.size(); };
  c.timeout = std::chrono::seconds(60);
  res = r.run(c);
  check(res.ok() && got == (64u << 20), "64 MB echoed through `cat` (no deadlock)",
        res.ok() ? std::to_string(got) : res.error());

  // The reader exits early: the rest of the input is dropped, no error.
  c = cmd({"head", "-c", "10"});
  c.stdin_source = zeros(64u << 20);
  res = r.run(c);
  check(res.ok() && res->out.size() == 10 && res->exit_status == 0, "reader that exits early",
        res.ok() ? std::to_string(res->out.size()) : res.error());

  // Overall timeout: the command is killed, the connection stays usable.
  c = cmd({"sleep", "30"});
  c.timeout = std::chrono::seconds(2);
  start = Clock::now();
  res = r.run(c);
  s = seconds_since(start);
  check(!res.ok() && res.error().find("timed out after 2s") != std::string::npos && s < 3.5,
        "overall timeout",
        (res.ok() ? "no error" : res.error()) + " in " + std::to_string(s) + "s");
  res = r.run(cmd({"sh", "-c", "sleep 0.3; pgrep -fx 'sleep 30' || echo none"}));
  check(res.ok(), "connection reused after a timeout", res.ok() ? "" : res.error());
  if (root) {
    // OpenSSH refuses "signal" requests on root sessions (no privilege separation there), so
    // the command keeps running until it ends or writes to the closed channel.
    std::cout << "note  timed-out command still running as root (sshd ignores signals): "
              << (res.ok() && res->out != "none\n" ? "yes" : "no") << "\n";
  } else {
    check(res.ok() && res->out == "none\n", "timed-out command was killed with SIGTERM",
          res.ok() ? res->out : res.error());
  }

  // Idle timeout: output, then silence.
  c = cmd({"sh", "-c", "echo started; sleep 10"});
  c.idle_timeout = std::chrono::milliseconds(1500);
  start = Clock::now();
  res = r.run(c);
  s = seconds_since(start);
  check(!res.ok() && s < 3, "idle timeout",
        (res.ok() ? "no error" : res.error()) + " in " + std::to_string(s) + "s");

  // Killed by a signal: exit status -1.
  res = r.run(cmd({"sh", "-c", "kill -9 $$"}));
  check(res.ok() && res->exit_status == -1, "killed by a signal",
        res.ok() ? std::to_string(res->exit_status) : res.error());

  // A throwing source aborts the command and propagates; the connection survives.
  c = cmd({"sh", "-c", "cat > /dev/null"});
  int calls = 0;
  c.stdin_source = [&](char* buf, size_t cap) -> size_t {
    if (++calls > 3) throw Error("docker save failed");
    std::memset(buf, 0, cap);
    return cap;
  };
  try {
    r.run(c);
    check(false, "throwing source", "no exception");
  } catch (const Error& e) {
    check(std::string(e.what()) == "docker save failed", "throwing source", e.what());
  }

  // run_checked on top of the real executor.
  check(run_checked(r, {"echo", "hi"}, "echo") == "hi\n", "run_checked success");
  try {
    run_checked(r, {"sh", "-c", "echo nope >&2; exit 2"}, "fail on purpose");
    check(false, "run_checked failure", "no exception");
  } catch (const Error& e) {
    check(std::string(e.what()) == "fail on purpose on " + r.name() + ": nope (exit status 2)",
          "run_checked failure", e.what());
  }

  // Many commands on one connection.
  start = Clock::now();
  bool all = true;
  for (int i = 0; i < 50; ++i) all = all && r.run(cmd({"true"})).ok();
  check(all, "50 commands on one connection",
        std::to_string(static_cast<int>(seconds_since(start) * 1000 / 50)) + " ms each");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "connect" && argc >= 7) {
      SshTarget t{argv[2], std::atoi(argv[3]), argv[4], argv[5], argv[6]};
      if (argc >= 8) t.connect_timeout = std::chrono::milliseconds(std::atoi(argv[7]));
      auto start = Clock::now();
      try {
        auto r = ssh_connect(t);
        std::cout << "connected as " << r->name() << "\n";
        auto res = r->run(cmd({"whoami"}));
        std::cout << "whoami: " << (res.ok() ? res->out : res.error());
        return 0;
      } catch (const UnreachableError& e) {
        std::cout << "UnreachableError after " << seconds_since(start) << "s: " << e.what() << "\n";
        return 4;
      }
    }
    if (mode == "suite" && argc >= 7) {
      SshTarget t{argv[2], std::atoi(argv[3]), argv[4], argv[5], argv[6]};
      auto r = ssh_connect(t);
      suite(*r, t.user == "root", argc >= 8 ? std::stoul(argv[7]) : 300);
      std::cout << (failures == 0 ? "all checks passed\n" : "SOME CHECKS FAILED\n");
      return failures == 0 ? 0 : 1;
    }
  } catch (const std::exception& e) {
    std::cout << "error: " << e.what() << "\n";
    return 2;
  }
  std::cerr << "usage: ssh_check connect HOST PORT USER KEY KNOWN_HOSTS [TIMEOUT_MS]\n"
               "       ssh_check suite HOST PORT USER KEY KNOWN_HOSTS [STREAM_MB]\n";
  return 2;
}
