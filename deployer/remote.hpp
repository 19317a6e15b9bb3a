// The remote side of podlift: running commands on a server. One real implementation over libssh
// (SshExecutor, deployer/ssh.hpp) and a recording fake for unit tests (tests/unit/fake_remote.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace podlift {

struct RemoteResult {
  int exit_status = -1;  // the command's exit status; -1 if it was killed by a signal/unknown
  std::string out;       // captured stdout (empty when an on_stdout sink was given)
  std::string err;       // captured stderr (empty when an on_stderr sink was given)
};

// Produces the next chunk of stdin for a remote command: fill `buf`, return bytes written,
// 0 at end of input. Throwing aborts the command.
using StdinSource = std::function<size_t(char* buf, size_t cap)>;
using OutputSink = std::function<void(std::string_view chunk)>;

struct RemoteCommand {
  std::vector<std::string> argv;  // quoted with shell_join by the executor; never pre-joined
  std::string stdin_data;         // small stdin (file contents); ignored if stdin_source is set
  StdinSource stdin_source;       // streaming stdin (e.g. `docker save` output)
  OutputSink on_stdout;           // streaming stdout (e.g. `docker logs -f`); else captured
  OutputSink on_stderr;
  // Overall bound for this command; nullopt = the executor's default (ssh.command_timeout).
  std::optional<std::chrono::milliseconds> timeout;
  // Bound on silence in both directions for streaming transfers; nullopt = none. With a
  // stdin_source it applies only until all input has been sent: then the command may work
  // silently (docker load applying layers), bounded by finish_timeout.
  std::optional<std::chrono::milliseconds> idle_timeout;
  // With a stdin_source: bound on the wait for the command to end once its input ended;
  // nullopt = only `timeout`.
  std::optional<std::chrono::milliseconds> finish_timeout;
};

class RemoteExecutor {
 public:
  virtual ~RemoteExecutor() = default;
  // "user@host:port", for messages.
  virtual std::string name() const = 0;
  // Runs one command to completion. Returns the result (non-zero exit is not a failure here);
  // a transport failure, timeout or cancellation is returned as a failed Result whose message
  // names the host and what went wrong.
  virtual Result<RemoteResult> run(const RemoteCommand& command) = 0;
};

// Convenience: run argv, throw Error("<what> on <host>: <stderr or transport error>") unless it
// exits 0; returns stdout.
std::string run_checked(RemoteExecutor& remote, const std::vector<std::string>& argv,
                        const std::string& what, std::string stdin_data = {});

}  // namespace podlift
