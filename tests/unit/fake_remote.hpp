// A recording RemoteExecutor for unit tests; no network. Every run() is recorded as its joined
// command line (shell_join of argv) and its stdin, and answered by the first scripted response
// whose prefix starts that command line. Unscripted commands exit 0 with no output.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/quote.hpp"
#include "deployer/remote.hpp"

namespace podlift {

class FakeRemote : public RemoteExecutor {
 public:
  struct Call {
    std::string command;  // shell_join(argv)
    std::string stdin_data;
  };

  explicit FakeRemote(std::string name = "root@fake:22") : name_(std::move(name)) {}

  // Answers the next command starting with `prefix` (every such command if `repeat`).
  FakeRemote& on(std::string prefix, int exit_status, std::string out = {}, std::string err = {},
                 bool repeat = false) {
    RemoteResult r{exit_status, std::move(out), std::move(err)};
    scripted_.push_back({std::move(prefix), Result<RemoteResult>(std::move(r)), repeat});
    return *this;
  }
  // Makes the next command starting with `prefix` fail as a transport error would.
  FakeRemote& fail(std::string prefix, std::string error, bool repeat = false) {
    scripted_.push_back(
        {std::move(prefix), Result<RemoteResult>::failure(std::move(error)), repeat});
    return *this;
  }

  std::string name() const override { return name_; }

  Result<RemoteResult> run(const RemoteCommand& command) override {
    Call call{shell_join(command.argv), command.stdin_data};
    if (command.stdin_source) {
      call.stdin_data.clear();
      std::string buf(64 * 1024, '\0');
      while (size_t n = command.stdin_source(buf.data(), buf.size()))
        call.stdin_data.append(buf, 0, n);
    }
    calls.push_back(call);
    Result<RemoteResult> result = RemoteResult{0, {}, {}};
    for (auto it = scripted_.begin(); it != scripted_.end(); ++it) {
      if (call.command.rfind(it->prefix, 0) != 0) continue;
      result = it->result;
      if (!it->repeat) scripted_.erase(it);
      break;
    }
    if (result.ok()) {
      if (command.on_stdout && !result->out.empty())
        command.on_stdout(std::exchange(result->out, {}));
      if (command.on_stderr && !result->err.empty())
        command.on_stderr(std::exchange(result->err, {}));
    }
    return result;
  }

  std::vector<Call> calls;

 private:
  struct Scripted {
    std::string prefix;
    Result<RemoteResult> result;
    bool repeat;
  };
  std::string name_;
  std::vector<Scripted> scripted_;
};

}  // namespace podlift
