// What is being deployed: the version of the app, taken from git on the build box.
#pragma once

#include <string>

#include "core/process.hpp"

namespace podlift {

struct AppVersion {
  std::string sha;  // full SHA of HEAD
  std::string id;   // image tag and label: sha, or sha-dirty-<8 hex of the diff>
  bool dirty = false;
  std::string repo_root;  // absolute work-tree root
  std::string tree_rev;   // what to archive: HEAD's SHA, or a `git stash create` commit when dirty
  std::string prefix;     // the config directory relative to repo_root ("" or "sub/dir/")
  // When set, the build context is these files (a clean checkout made by the watcher, submodules
  // included) rather than `git archive` of tree_rev.
  std::string checkout_dir;
};

// Version id from a SHA and, for a dirty tree, the hex digest of its diff.
std::string version_id(const std::string& sha, const std::string& dirty_digest = "");
// 12-character display form: "0123456789ab" or "0123456789ab-dirty-deadbeef".
std::string short_version(const std::string& id);
// True if text could be a version id (or its unique prefix of >= 4 hex digits).
bool looks_like_version(const std::string& text);

// Reads HEAD and the work tree state of the repository holding `dir`. A dirty tree (tracked files
// modified or staged; untracked files do not count, they are never built) is an Error unless
// allow_dirty. Throws Error if dir is not in a git repository or HEAD has no commit.
// With `rev` (deploy --sha), that commit is the version and the work tree does not matter;
// a rev that names no commit is an Error.
AppVersion resolve_version(ProcessRunner& runner, const std::string& dir, bool allow_dirty,
                           const std::string& rev = "");

// The version of a clean checkout of `sha` at `dir` (the watcher's): its files are the context.
AppVersion checkout_version(const std::string& dir, const std::string& sha);

}  // namespace podlift
