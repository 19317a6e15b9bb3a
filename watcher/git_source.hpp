// Where the watcher's commits come from: one branch of one repository. One real implementation,
// ChildGitSource, runs each libgit2 operation (git_ops.hpp) in a child process (`podlift __git`)
// that it kills at a deadline, since libgit2 1.5 cannot bound a network operation itself; unit
// tests use a fake.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/process.hpp"
#include "watcher/git_ops.hpp"

namespace podlift::watcher {

class GitSource {
 public:
  virtual ~GitSource() = default;
  // The branch's tip on the remote, without fetching; nullopt when the branch does not exist.
  virtual Result<std::optional<std::string>> tip() = 0;
  // Fetches the branch into the local mirror (forced refspec); see FetchResult.
  virtual Result<FetchResult> fetch() = 0;
  // A clean checkout of `sha` (from the mirror, submodules updated) in a new directory, returned.
  virtual Result<std::string> checkout(const std::string& sha) = 0;
  // Removes a directory checkout() returned.
  virtual void remove_checkout(const std::string& dir) = 0;
  // "<url without credentials> <branch>", for logs and pages.
  virtual std::string describe() const = 0;
};

struct GitSourceSettings {
  std::string url;     // as configured; may hold a token (never shown: see display_url)
  std::string branch;  // "main", "env/prod"
  GitAuth auth;
  std::string work_dir;  // holds mirror.git and checkouts/
  std::chrono::milliseconds ls_timeout{30000};
  std::chrono::milliseconds fetch_timeout{600000};
  // The command that runs run_git_helper(), e.g. {"/proc/self/exe", "__git"}.
  std::vector<std::string> helper;
};

class ChildGitSource : public GitSource {
 public:
  ChildGitSource(GitSourceSettings settings, ProcessRunner& runner)
      : s_(std::move(settings)), runner_(runner) {}
  Result<std::optional<std::string>> tip() override;
  Result<FetchResult> fetch() override;
  Result<std::string> checkout(const std::string& sha) override;
  void remove_checkout(const std::string& dir) override;
  std::string describe() const override;

 private:
  // Runs one request in the helper; its JSON answer, or a failure (timeout, crash, error).
  Result<std::string> call(const std::string& request_json, std::chrono::milliseconds timeout,
                           const std::string& what);
  GitSourceSettings s_;
  ProcessRunner& runner_;
};

// The child's side: reads one JSON request from `in` ({"op": "tip"|"fetch"|"checkout", "url",
// "branch", "ssh_key", "known_hosts", "mirror", "sha", "dir"}), runs it and writes one JSON answer
// to `out` ({"ok": true, ...} or {"ok": false, "error": "..."}). Returns the process exit code.
int run_git_helper(std::istream& in, std::ostream& out);

}  // namespace podlift::watcher
