#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/interrupt.hpp"
#include "core/quote.hpp"
#include "core/text.hpp"

extern char** environ;

namespace podlift {

namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
    r = fds[0];
    w = fds[1];
  }
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct Child {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
};

// Starts argv with stdin/stdout/stderr pipes. The env of the child is ours plus options.env.
Result<Child> spawn(const std::vector<std::string>& argv, const ProcessOptions& options,
                    bool want_stdin) {
  if (argv.empty()) return Result<Child>::failure("empty command");
  Pipe in, out, err;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (want_stdin) {
    posix_spawn_file_actions_adddup2(&fa, in.r, 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&fa, out.w, 1);
  posix_spawn_file_actions_adddup2(&fa, err.w, 2);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());

  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && options.env.count(std::string(kv.substr(0, eq)))) continue;
    envs.emplace_back(kv);
  }
  for (const auto& [k, v] : options.env) envs.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);

  Child c;
  int rc = posix_spawnp(&c.pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close_fd(in.r);
  close_fd(out.w);
  close_fd(err.w);
  if (rc != 0) {
    close_fd(in.w);
    close_fd(out.r);
    close_fd(err.r);
    return Result<Child>::failure("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  if (want_stdin) {
    c.in = in.w;
  } else {
    close_fd(in.w);
  }
  c.out = out.r;
  c.err = err.r;
  return c;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

class SystemStream : public ProcessStream {
 public:
  // stderr is drained on a poll alongside stdout so a chatty child never blocks.
  SystemStream(Child c, const ProcessOptions& o)
      : c_(c), idle_(o.idle_timeout), first_(o.first_output_timeout) {}
  ~SystemStream() override {
    if (c_.pid > 0) finish();
  }
  size_t read(char* buf, size_t cap) override {
    using Clock = std::chrono::steady_clock;
    const auto bound = started_ ? idle_ : first_;
    const auto give_up = bound ? Clock::now() + *bound : Clock::time_point::max();
    while (c_.out >= 0) {
      check_interrupted();
      pollfd fds[2] = {{c_.out, POLLIN, 0}, {c_.err, POLLIN, 0}};
      // Short sleeps, so a signal or the bound is noticed soon.
      int n = ::poll(fds, c_.err >= 0 ? 2 : 1, 200);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(std::string("poll: ") + std::strerror(errno));
      }
      if (n == 0) {
        if (Clock::now() < give_up) continue;
        finish();
        throw Error("no output for " + format_ms(*bound) +
                    (started_ ? "" : " (before its first byte)"));
      }
      if (c_.err >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        char tmp[4096];
        ssize_t r = ::read(c_.err, tmp, sizeof tmp);
        if (r > 0) {
          err_.append(tmp, static_cast<size_t>(r));
        } else {
          close_fd(c_.err);
        }
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = ::read(c_.out, buf, cap);
        if (r > 0) {
          started_ = true;
          return static_cast<size_t>(r);
        }
        if (r < 0 && errno == EINTR) continue;
        close_fd(c_.out);
        return 0;
      }
    }
    return 0;
  }
  ProcessResult finish() override {
    ProcessResult res;
    if (c_.pid <= 0) return res;
    if (c_.out >= 0) {
      // Not read to the end: the caller gave up, so stop the producer.
      ::kill(c_.pid, SIGKILL);
      close_fd(c_.out);
    }
    while (c_.err >= 0) {
      char tmp[4096];
      ssize_t r = ::read(c_.err, tmp, sizeof tmp);
      if (r > 0) {
        err_.append(tmp, static_cast<size_t>(r));
      } else if (!(r < 0 && errno == EINTR)) {
        close_fd(c_.err);
      }
    }
    res.exit_code = wait_child(c_.pid);
    c_.pid = -1;
    res.err = std::move(err_);
    return res;
  }

 private:
  static std::string format_ms(std::chrono::milliseconds d) {
    return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s"
                                 : std::to_string(d.count()) + "ms";
  }
  Child c_;
  std::optional<std::chrono::milliseconds> idle_, first_;
  bool started_ = false;
  std::string err_;
};

}  // namespace

Result<ProcessResult> SystemProcessRunner::run(const std::vector<std::string>& argv,
                                               const ProcessOptions& options) {
  bool want_stdin = !options.stdin_data.empty();
  auto child = spawn(argv, options, want_stdin);
  if (!child) return Result<ProcessResult>::failure(child.error());
  Child c = *child;
  ProcessResult res;
  size_t written = 0;
  if (c.in >= 0) fcntl(c.in, F_SETFL, O_NONBLOCK);
  auto deadline = options.timeout ? Clock::now() + *options.timeout : Clock::time_point::max();
  bool timed_out = false;
  while (c.out >= 0 || c.err >= 0) {
    std::vector<pollfd> fds;
    if (c.out >= 0) fds.push_back({c.out, POLLIN, 0});
    if (c.err >= 0) fds.push_back({c.err, POLLIN, 0});
    if (c.in >= 0) fds.push_back({c.in, POLLOUT, 0});
    int wait_ms = -1;
    if (options.timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1000));
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) break;
    for (auto& p : fds) {
      if (!p.revents) continue;
      if (p.fd == c.in) {
        ssize_t w =
            ::write(c.in, options.stdin_data.data() + written, options.stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) written = options.stdin_data.size();
        if (written >= options.stdin_data.size()) close_fd(c.in);
        continue;
      }
      char buf[65536];
      ssize_t r = ::read(p.fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      bool is_out = p.fd == c.out;
      if (r <= 0) {
        close_fd(is_out ? c.out : c.err);
        continue;
      }
      std::string_view chunk(buf, static_cast<size_t>(r));
      auto& sink = is_out ? options.on_stdout : options.on_stderr;
      if (sink) {
        sink(chunk);
      } else {
        (is_out ? res.out : res.err).append(chunk);
      }
    }
  }
  close_fd(c.in);
  if (timed_out) ::kill(c.pid, SIGKILL);
  close_fd(c.out);
  close_fd(c.err);
  res.exit_code = wait_child(c.pid);
  if (timed_out) {
    return Result<ProcessResult>::failure(
        "`" + shell_join(argv) + "` timed out after " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*options.timeout).count()) +
        "s");
  }
  return res;
}

std::unique_ptr<ProcessStream> SystemProcessRunner::stream(const std::vector<std::string>& argv,
                                                           const ProcessOptions& options) {
  auto child = spawn(argv, options, false);
  if (!child) throw Error(child.error());
  return std::make_unique<SystemStream>(*child, options);
}

std::string run_local_checked(ProcessRunner& runner, const std::vector<std::string>& argv,
                              const std::string& what, const ProcessOptions& options) {
  auto r = runner.run(argv, options);
  if (!r) throw Error(what + ": " + r.error());
  if (r->exit_code != 0) {
    std::string detail = r->err.empty() ? r->out : r->err;
    detail = trim_right(detail);
    throw Error(what + " (exit " + std::to_string(r->exit_code) + ")" +
                (detail.empty() ? "" : ": " + detail));
  }
  return r->out;
}

}  // namespace podlift
