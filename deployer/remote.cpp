// run_checked: the common "run this, it must succeed" case on top of RemoteExecutor::run.
#include "deployer/remote.hpp"

#include <string_view>

namespace podlift {

namespace {

constexpr size_t kMaxDetail = 2000;  // stderr can be a whole build log; its end says what failed

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

std::string tail(std::string_view s) {
  if (s.size() <= kMaxDetail) return std::string(s);
  return "..." + std::string(s.substr(s.size() - kMaxDetail));
}

// Why a command that ran failed: its stderr (or stdout when stderr is empty) and its status.
std::string describe(const RemoteResult& r) {
  const std::string status =
      r.exit_status == -1 ? "killed by a signal" : "exit status " + std::to_string(r.exit_status);
  std::string_view detail = trim(r.err);
  if (detail.empty()) detail = trim(r.out);
  if (detail.empty()) return "failed with " + status;
  return tail(detail) + " (" + status + ")";
}

}  // namespace

std::string run_checked(RemoteExecutor& remote, const std::vector<std::string>& argv,
                        const std::string& what, std::string stdin_data) {
  RemoteCommand command;
  command.argv = argv;
  command.stdin_data = std::move(stdin_data);
  Result<RemoteResult> result = remote.run(command);
  if (!result.ok()) throw Error(what + " on " + remote.name() + ": " + result.error());
  if (result->exit_status != 0) {
    throw Error(what + " on " + remote.name() + ": " + describe(*result));
  }
  return std::move(result->out);
}

}  // namespace podlift
