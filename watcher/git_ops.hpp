// Thin wrappers over libgit2 for the watcher: the tip of a branch on a remote (refs listed, no
// fetch), a fetch of that branch into a bare mirror with a forced refspec, and a clean checkout of
// one commit with its submodules synced and updated.
//
// They return Result<T> with libgit2's message, credentials removed. None of them is bounded in
// time: libgit2 1.5 has no network timeouts, so the watcher runs them in a child process that it
// kills at a deadline (git_source.hpp). ssh:// remotes have their host key checked against
// known_hosts here, since libgit2 1.5 does not read known_hosts itself.
#pragma once

#include <optional>
#include <string>

#include "core/error.hpp"

namespace podlift::watcher {

struct GitAuth {
  std::string ssh_key;      // private key file for ssh remotes; empty: ssh-agent
  std::string known_hosts;  // host keys of ssh remotes are checked against this file
};

// The SHA that refs/heads/<branch> has on the remote; nullopt when the remote has no such branch
// (a tag of the same name does not count).
Result<std::optional<std::string>> remote_branch_tip(const std::string& url,
                                                     const std::string& branch,
                                                     const GitAuth& auth);

struct FetchResult {
  std::string sha;       // the branch's tip now; empty: the remote no longer has the branch
  std::string previous;  // the mirror's tip before the fetch ("" on the first fetch)
  bool forced = false;   // previous is not an ancestor of sha: history was rewritten
};

// Fetches +refs/heads/<branch>:refs/heads/<branch> into the bare repository `mirror` (created if
// missing). Tags are not fetched.
Result<FetchResult> fetch_branch(const std::string& mirror, const std::string& url,
                                 const std::string& branch, const GitAuth& auth);

// Makes `dir` (which must not exist) a clean checkout of `sha` from `mirror`, with its `origin`
// pointing at `url` (so relative submodule URLs resolve as they would for a clone of `url`) and
// every submodule, recursively, initialised, synced and updated.
Result<bool> checkout_commit(const std::string& mirror, const std::string& url,
                             const std::string& sha, const std::string& dir, const GitAuth& auth);

// `url` for people: user info (user:token@) removed. Paths are returned as they are.
std::string display_url(const std::string& url);
// The secret part of `url`'s user info (the password, or a lone token in an http URL), or "".
std::string url_credential(const std::string& url);

}  // namespace podlift::watcher
