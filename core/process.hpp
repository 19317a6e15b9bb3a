// Local processes (git, docker on the build box). One real implementation (SystemProcessRunner)
// and fakes in unit tests. Commands are argument vectors, never shell text; when a pipeline is
// needed, build it with shell_pipeline() and run {"bash", "-o", "pipefail", "-c", text}.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace podlift {

struct ProcessOptions {
  std::string cwd;                                  // empty: inherit
  std::map<std::string, std::string> env;           // added to/overriding the inherited env
  std::string stdin_data;                           // written then closed; empty: /dev/null
  std::function<void(std::string_view)> on_stdout;  // streaming sink; else captured
  std::function<void(std::string_view)> on_stderr;
  std::optional<std::chrono::milliseconds> timeout;  // killed (SIGKILL) when exceeded
  // stream() only: once output has begun, a read that waits this long for more throws Error
  // (the process is killed). Before the first byte, first_output_timeout applies instead (a
  // producer may work silently first, as `docker save` stages a whole image).
  std::optional<std::chrono::milliseconds> idle_timeout;
  std::optional<std::chrono::milliseconds> first_output_timeout;
};

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128+signal if killed by a signal
  std::string out;
  std::string err;
};

// A running process whose stdout is read by the caller piece by piece (e.g. `docker save`).
class ProcessStream {
 public:
  virtual ~ProcessStream() = default;
  // Reads up to cap bytes of stdout; 0 at end of output. Throws Error on read failure, when
  // ProcessOptions::idle_timeout / first_output_timeout pass without output, or (through
  // check_interrupted) on SIGINT/SIGTERM.
  virtual size_t read(char* buf, size_t cap) = 0;
  // Waits for exit (killing the process if its output was not read to the end) and returns the
  // exit status with captured stderr.
  virtual ProcessResult finish() = 0;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs to completion. A process that cannot be started, or times out, is a failed Result.
  virtual Result<ProcessResult> run(const std::vector<std::string>& argv,
                                    const ProcessOptions& options = {}) = 0;
  virtual std::unique_ptr<ProcessStream> stream(const std::vector<std::string>& argv,
                                                const ProcessOptions& options = {}) = 0;
};

class SystemProcessRunner : public ProcessRunner {
 public:
  Result<ProcessResult> run(const std::vector<std::string>& argv,
                            const ProcessOptions& options = {}) override;
  std::unique_ptr<ProcessStream> stream(const std::vector<std::string>& argv,
                                        const ProcessOptions& options = {}) override;
};

// run() and throw Error("<what>: <stderr>") unless it exits 0; returns stdout.
std::string run_local_checked(ProcessRunner& runner, const std::vector<std::string>& argv,
                              const std::string& what, const ProcessOptions& options = {});

}  // namespace podlift
