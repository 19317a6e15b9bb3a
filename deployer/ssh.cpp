// SshExecutor over libssh: connect, host key check, authentication, and one "exec" channel per
// run() on the session.
//
// The session stays in libssh's blocking mode. Every blocking libssh call is bounded by setting
// the session timeout to whatever is left of the command's deadline (or idle bound) just before
// it, so no call can outlive the command. The channel loop never calls a libssh function that
// waits for the peer except flushes and the final exit-status wait: it reads with
// ssh_channel_read_nonblocking, writes only as much as the server's window allows, and sleeps in
// poll(2) on the session socket when nothing moved. That keeps stdout/stderr draining while a
// large stdin stream is written, so neither side can block the other.
#include "deployer/ssh.hpp"

#include <libssh/libssh.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/quote.hpp"
#include "core/text.hpp"

namespace podlift {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kChunk = 64 * 1024;         // stdin pieces pulled from a StdinSource; read size
constexpr milliseconds kCloseTimeout{1000};  // bound on closing a channel after a failure
constexpr milliseconds kMaxPollSleep{200};   // upper bound on one idle sleep in the loop

void init_libssh() {
  static const int rc = ssh_init();
  if (rc != SSH_OK) throw UnreachableError("cannot initialise libssh");
}

std::string format_duration(milliseconds d) {
  const long long ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

// Sets the timeout libssh applies to its blocking calls (at least 1 ms: 0 would mean "none").
void set_timeout(ssh_session s, milliseconds d) {
  const long total = std::max<long>(static_cast<long>(d.count()), 1);
  long sec = total / 1000;
  long usec = (total % 1000) * 1000;
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &sec);
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

struct SessionDeleter {
  void operator()(ssh_session s) const {
    if (ssh_is_connected(s) != 0) {
      set_timeout(s, kCloseTimeout);
      ssh_disconnect(s);
    }
    ssh_free(s);
  }
};
using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;

struct KeyDeleter {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;

// "host:port" for messages; IPv6 literals get brackets.
std::string host_port(const SshTarget& t) {
  const bool v6 = t.host.find(':') != std::string::npos;
  return (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
}

// The name ssh-keygen -R and known_hosts use for the host: "host", or "[host]:port" off port 22.
std::string known_hosts_name(const SshTarget& t) {
  if (t.port == 22) return t.host;
  return "[" + t.host + "]:" + std::to_string(t.port);
}

// "ssh-ed25519 key SHA256:..." for the key the server offered.
std::string offered_key(ssh_session s) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(s, &raw) != SSH_OK) return "an unreadable key";
  KeyPtr key(raw);
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (ssh_get_publickey_hash(raw, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != 0) {
    return "an unreadable key";
  }
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  ssh_clean_pubkey_hash(&hash);
  std::string out = ssh_key_type_to_char(ssh_key_type(raw));
  out += " key ";
  out += fp != nullptr ? fp : "(no fingerprint)";
  ssh_string_free_char(fp);
  return out;
}

void verify_host_key(ssh_session s, const SshTarget& t, const std::string& file) {
  const std::string where = host_port(t);
  const std::string add = "ssh-keyscan -p " + std::to_string(t.port) + " " + shell_quote(t.host) +
                          " >> " + shell_quote(file);
  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK:
      return;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      throw UnreachableError(
          "HOST KEY MISMATCH for " + where + ": the server offered " + offered_key(s) +
          ", which is not the key recorded in " + file +
          ". Someone may be intercepting the connection, or the server was reinstalled. If you "
          "have verified the new key, remove the old one with: ssh-keygen -R " +
          shell_quote(known_hosts_name(t)) + " -f " + shell_quote(file) +
          " and add the new one with: " + add);
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      throw UnreachableError("host key of " + where + " is not in " + file + " (" +
                             (std::ifstream(file) ? "" : "the file does not exist; ") +
                             "the server offered " + offered_key(s) +
                             "); verify it, then add it with: " + add);
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      throw UnreachableError("cannot check the host key of " + where + " against " + file + ": " +
                             ssh_get_error(s));
  }
}

// Loads identity_file before any network traffic, so a bad path fails fast and clearly.
KeyPtr load_identity(const std::string& path, const std::string& name) {
  std::ifstream probe(path);
  if (!probe) {
    throw UnreachableError("cannot read SSH identity file " + path + " for " + name + ": " +
                           std::strerror(errno));
  }
  ssh_key raw = nullptr;
  if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK) {
    throw UnreachableError("cannot load SSH identity file " + path + " for " + name +
                           ": not a private key, or it is passphrase-protected (load it into "
                           "ssh-agent and leave identity_file empty)");
  }
  return KeyPtr(raw);
}

void authenticate(ssh_session s, const SshTarget& t, const std::string& name, ssh_key identity) {
  std::vector<std::string> tried;
  std::string transport_error;
  auto attempt = [&](const std::string& label, int rc) {
    tried.push_back(label);
    if (rc == SSH_AUTH_ERROR) transport_error = ssh_get_error(s);
    return rc == SSH_AUTH_SUCCESS;
  };
  if (identity != nullptr) {
    if (attempt("key " + expand_home(t.identity_file),
                ssh_userauth_publickey(s, nullptr, identity)))
      return;
  } else {
    const char* agent = std::getenv("SSH_AUTH_SOCK");
    if (agent != nullptr && *agent != '\0' &&
        attempt("ssh-agent", ssh_userauth_agent(s, nullptr))) {
      return;
    }
    if (attempt("default keys ~/.ssh/id_*", ssh_userauth_publickey_auto(s, nullptr, nullptr)))
      return;
  }
  std::string list;
  for (const auto& m : tried) list += (list.empty() ? "" : " / ") + m;
  std::string msg = "authentication failed for " + name + " (tried: " + list + ")";
  if (!transport_error.empty()) msg += ": " + transport_error;
  throw UnreachableError(msg);
}

// The start of a command for messages: words up to ~60 characters, then "...".
std::string short_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) {
    std::string q = shell_quote(word);
    if (!out.empty() && out.size() + q.size() > 60) return out + " ...";
    out += (out.empty() ? "" : " ") + q;
  }
  return out;
}

// Frees a channel on every path out of run(). A command that did not finish (timeout, a throwing
// sink or source, a transport error) gets SIGTERM first: closing the channel alone would leave
// it running on the server. OpenSSH ignores signal requests on root sessions; there, closing the
// channel is all we can do (the command sees EOF on stdin and SIGPIPE on its next write).
struct ChannelGuard {
  ssh_session session;
  ssh_channel channel;
  bool finished = false;
  ChannelGuard(ssh_session s, ssh_channel c) : session(s), channel(c) {}
  ChannelGuard(const ChannelGuard&) = delete;
  ChannelGuard& operator=(const ChannelGuard&) = delete;
  ~ChannelGuard() {
    set_timeout(session, kCloseTimeout);
    if (!finished && ssh_channel_is_open(channel) != 0) {
      ssh_channel_request_send_signal(channel, "TERM");
    }
    ssh_channel_free(channel);
  }
};

class SshExecutor final : public RemoteExecutor {
 public:
  SshExecutor(SessionPtr session, SshTarget target, std::string name)
      : session_(std::move(session)), target_(std::move(target)), name_(std::move(name)) {}

  std::string name() const override { return name_; }
  Result<RemoteResult> run(const RemoteCommand& command) override;

 private:
  SessionPtr session_;
  SshTarget target_;
  std::string name_;
};

// The state of one run(): deadlines and the messages that name the command.
class CommandRun {
 public:
  CommandRun(ssh_session s, const RemoteCommand& cmd, const std::string& host, milliseconds limit)
      : s_(s),
        cmd_(cmd),
        label_("`" + short_command(cmd.argv) + "` on " + host),
        limit_(limit),
        deadline_(Clock::now() + limit),
        last_activity_(Clock::now()) {}

  Result<RemoteResult> execute();

 private:
  using Failure = std::optional<Result<RemoteResult>>;

  // A failed Result if the deadline or the idle bound has passed.
  Failure expired() const {
    const auto now = Clock::now();
    if (now >= deadline_) return fail(label_ + " timed out after " + format_duration(limit_));
    if (input_ended()) {
      if (cmd_.finish_timeout && now - eof_time_ >= *cmd_.finish_timeout) {
        return fail(label_ + " did not finish within " + format_duration(*cmd_.finish_timeout) +
                    " after its input ended");
      }
    } else if (cmd_.idle_timeout && now - last_activity_ >= *cmd_.idle_timeout) {
      return fail(label_ + " timed out after " + format_duration(*cmd_.idle_timeout) +
                  " without any data moving");
    }
    return std::nullopt;
  }
  // Time left before expired() fires (at least 1 ms).
  milliseconds remaining() const {
    const auto now = Clock::now();
    auto left = std::chrono::duration_cast<milliseconds>(deadline_ - now);
    if (input_ended()) {
      if (cmd_.finish_timeout) {
        left = std::min(
            left, std::chrono::duration_cast<milliseconds>(eof_time_ + *cmd_.finish_timeout - now));
      }
    } else if (cmd_.idle_timeout) {
      left = std::min(left, std::chrono::duration_cast<milliseconds>(last_activity_ +
                                                                     *cmd_.idle_timeout - now));
    }
    return std::max(left, milliseconds(1));
  }
  void bound_next_call() const { set_timeout(s_, remaining()); }
  // Streamed input has all been sent (or the command stopped reading it).
  bool input_ended() const { return cmd_.stdin_source && eof_sent_; }
  void end_input() {
    eof_sent_ = true;
    eof_time_ = Clock::now();
  }
  // A transport failure, unless the real cause is that time ran out.
  Result<RemoteResult> transport_failure(const std::string& doing) const {
    if (auto t = expired()) return std::move(*t);
    return fail(label_ + " failed while " + doing + ": " + ssh_get_error(s_));
  }
  static Result<RemoteResult> fail(std::string msg) {
    return Result<RemoteResult>::failure(std::move(msg));
  }
  void deliver(int is_stderr, std::string_view data) {
    const OutputSink& sink = is_stderr != 0 ? cmd_.on_stderr : cmd_.on_stdout;
    if (sink) {
      sink(data);
    } else {
      (is_stderr != 0 ? result_.err : result_.out).append(data);
    }
  }
  Failure drain(ssh_channel ch, bool& progress);
  Failure feed_stdin(ssh_channel ch, bool& progress);
  void wait_for_socket() const;

  ssh_session s_;
  const RemoteCommand& cmd_;
  std::string label_;
  milliseconds limit_;
  Clock::time_point deadline_;
  Clock::time_point last_activity_;
  Clock::time_point eof_time_;
  RemoteResult result_;
  std::vector<char> read_buf_ = std::vector<char>(kChunk);
  std::vector<char> stdin_buf_;
  std::string_view todo_;  // stdin bytes not yet accepted by the channel
  bool source_done_ = false;
  bool eof_sent_ = false;
  bool out_eof_ = false;
  bool err_eof_ = false;
};

// Reads what the server has sent on stdout and stderr without waiting for more.
CommandRun::Failure CommandRun::drain(ssh_channel ch, bool& progress) {
  for (int is_stderr = 0; is_stderr < 2; ++is_stderr) {
    bool& eof = is_stderr != 0 ? err_eof_ : out_eof_;
    // A bounded number of reads per stream, so a flood on one side cannot starve the other.
    for (int i = 0; i < 16 && !eof; ++i) {
      const int n = ssh_channel_read_nonblocking(
          ch, read_buf_.data(), static_cast<uint32_t>(read_buf_.size()), is_stderr);
      if (n == SSH_EOF) {
        eof = true;
      } else if (n < 0 && n != SSH_AGAIN) {
        return transport_failure("reading output");
      } else if (n <= 0) {
        break;
      } else {
        last_activity_ = Clock::now();
        progress = true;
        deliver(is_stderr, std::string_view(read_buf_.data(), static_cast<size_t>(n)));
      }
    }
  }
  return std::nullopt;
}

// Writes as much pending stdin as the server's window takes, then EOF once all of it is out.
CommandRun::Failure CommandRun::feed_stdin(ssh_channel ch, bool& progress) {
  if (eof_sent_) return std::nullopt;
  if (todo_.empty() && !source_done_) {
    const size_t n = cmd_.stdin_source(stdin_buf_.data(), stdin_buf_.size());
    // The source may have worked a long while (staging, skipping data locally): its output is
    // movement, and the idle bound restarts from here.
    last_activity_ = Clock::now();
    if (n == 0) {
      source_done_ = true;
    } else {
      todo_ = std::string_view(stdin_buf_.data(), std::min(n, stdin_buf_.size()));
    }
  }
  if (!todo_.empty()) {
    const uint32_t window = ssh_channel_window_size(ch);
    if (window == 0) return std::nullopt;  // wait for the server to read; keep draining meanwhile
    bound_next_call();
    const auto len = static_cast<uint32_t>(std::min<size_t>(todo_.size(), window));
    const int written = ssh_channel_write(ch, todo_.data(), len);
    if (written < 0) {
      if (ssh_is_connected(s_) == 0) return transport_failure("sending input");
      // The command exited or closed its end: drop the rest of the input, as a pipe would.
      todo_ = {};
      source_done_ = true;
      end_input();
      return std::nullopt;
    }
    if (written > 0) {
      todo_.remove_prefix(static_cast<size_t>(written));
      last_activity_ = Clock::now();
      progress = true;
    }
    return std::nullopt;
  }
  if (source_done_) {
    bound_next_call();
    if (ssh_channel_send_eof(ch) != SSH_OK && ssh_is_connected(s_) == 0) {
      return transport_failure("sending end of input");
    }
    end_input();
    progress = true;
  }
  return std::nullopt;
}

// Sleeps until the server sends something (data, a window adjust, EOF) or a bound passes.
void CommandRun::wait_for_socket() const {
  const milliseconds wait = std::min(remaining(), kMaxPollSleep);
  // Reads may have queued a window adjust that could not be sent yet; push it out first.
  ssh_blocking_flush(s_, static_cast<int>(wait.count()));
  pollfd p{};
  p.fd = ssh_get_fd(s_);
  p.events = POLLIN;
  ::poll(&p, 1, static_cast<int>(wait.count()));
}

Result<RemoteResult> CommandRun::execute() {
  if (cmd_.argv.empty()) return fail(label_ + " failed: empty command");
  ssh_channel raw = ssh_channel_new(s_);
  if (raw == nullptr) return transport_failure("creating a channel");
  ChannelGuard guard(s_, raw);
  bound_next_call();
  if (ssh_channel_open_session(raw) != SSH_OK) return transport_failure("opening a channel");
  bound_next_call();
  if (ssh_channel_request_exec(raw, shell_join(cmd_.argv).c_str()) != SSH_OK) {
    return transport_failure("starting the command");
  }

  if (cmd_.stdin_source) {
    stdin_buf_.resize(kChunk);
  } else {
    todo_ = cmd_.stdin_data;
    source_done_ = true;
  }

  for (;;) {
    bool progress = false;
    if (auto f = drain(raw, progress)) return std::move(*f);
    if (auto f = feed_stdin(raw, progress)) return std::move(*f);
    if (out_eof_ && err_eof_ && (eof_sent_ || ssh_channel_is_closed(raw) != 0)) break;
    if (auto t = expired()) return std::move(*t);
    if (!progress) wait_for_socket();
  }

  // Output is complete; the exit status arrives just before the server closes the channel.
  for (;;) {
    bound_next_call();
    const int status = ssh_channel_get_exit_status(raw);
    if (ssh_is_connected(s_) == 0) return transport_failure("waiting for the exit status");
    if (status != -1 || ssh_channel_is_closed(raw) != 0) {
      result_.exit_status = status;  // stays -1 when the command was killed by a signal
      break;
    }
    if (auto t = expired()) return std::move(*t);
  }
  guard.finished = true;
  return std::move(result_);
}

Result<RemoteResult> SshExecutor::run(const RemoteCommand& command) {
  CommandRun run(session_.get(), command, name_, command.timeout.value_or(target_.command_timeout));
  return run.execute();
}

}  // namespace

std::unique_ptr<RemoteExecutor> ssh_connect(const SshTarget& target) {
  init_libssh();
  const std::string name = target.user + "@" + host_port(target);
  const std::string known_hosts =
      expand_home(target.known_hosts.empty() ? "~/.ssh/known_hosts" : target.known_hosts);
  KeyPtr identity;
  if (!target.identity_file.empty()) {
    identity = load_identity(expand_home(target.identity_file), name);
  }

  SessionPtr session(ssh_new());
  if (!session) throw UnreachableError("cannot create an SSH session for " + name);
  ssh_session s = session.get();
  // No ~/.ssh/config and no /etc/ssh/ssh_known_hosts: podlift.yml alone decides.
  bool process_config = false;
  unsigned int port = static_cast<unsigned int>(target.port);
  // Default keys come from $HOME/.ssh like every other ~ path here (libssh would use passwd).
  const std::string ssh_dir = expand_home("~/.ssh");
  int nodelay = 1;  // many small request/reply exchanges per command: no Nagle delays
  if (ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config) < 0 ||
      ssh_options_set(s, SSH_OPTIONS_HOST, target.host.c_str()) < 0 ||
      ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0 ||
      ssh_options_set(s, SSH_OPTIONS_NODELAY, &nodelay) < 0 ||
      (!target.user.empty() && ssh_options_set(s, SSH_OPTIONS_USER, target.user.c_str()) < 0) ||
      ssh_options_set(s, SSH_OPTIONS_SSH_DIR, ssh_dir.c_str()) < 0 ||
      ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str()) < 0 ||
      ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") < 0) {
    throw UnreachableError("invalid SSH settings for " + name + ": " + ssh_get_error(s));
  }
  set_timeout(s, target.connect_timeout);

  const auto start = Clock::now();
  if (ssh_connect(s) != SSH_OK) {
    const std::string err = ssh_get_error(s);
    const bool timed_out =
        err.find("imeout") != std::string::npos || Clock::now() - start >= target.connect_timeout;
    throw UnreachableError(
        "cannot connect to " + name + ": " +
        (timed_out ? "timed out after " + format_duration(target.connect_timeout) : err));
  }
  verify_host_key(s, target, known_hosts);
  authenticate(s, target, name, identity.get());
  return std::make_unique<SshExecutor>(std::move(session), target, name);
}

}  // namespace podlift
