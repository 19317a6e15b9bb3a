#include "deployer/version.hpp"

#include <openssl/evp.h>

#include <cctype>

#include "core/text.hpp"

namespace podlift {

namespace {
std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}
}  // namespace

std::string version_id(const std::string& sha, const std::string& dirty_digest) {
  if (dirty_digest.empty()) return sha;
  return sha + "-dirty-" + dirty_digest.substr(0, 8);
}

std::string short_version(const std::string& id) {
  auto dash = id.find("-dirty-");
  if (dash == std::string::npos) return id.substr(0, 12);
  return id.substr(0, std::min<size_t>(12, dash)) + id.substr(dash);
}

bool looks_like_version(const std::string& text) {
  if (text.size() < 4) return false;
  std::string head = text.substr(0, text.find("-dirty-"));
  for (char c : head) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) ||
        std::isupper(static_cast<unsigned char>(c)))
      return false;
  }
  return head.size() <= 40;
}

AppVersion checkout_version(const std::string& dir, const std::string& sha) {
  AppVersion v;
  v.sha = sha;
  v.id = version_id(sha);
  v.repo_root = dir;
  v.tree_rev = sha;
  v.checkout_dir = dir;
  return v;
}

AppVersion resolve_version(ProcessRunner& runner, const std::string& dir, bool allow_dirty,
                           const std::string& rev) {
  auto git = [&](std::vector<std::string> args, const std::string& what) {
    args.insert(args.begin(), {"git", "-C", dir});
    return trim_right(run_local_checked(runner, args, what));
  };
  AppVersion v;
  auto inside = runner.run({"git", "-C", dir, "rev-parse", "--show-toplevel"});
  if (!inside || inside->exit_code != 0) {
    throw Error(dir +
                " is not inside a git repository; podlift deploys committed code (git init "
                "and commit first)");
  }
  v.repo_root = trim_right(inside->out);
  if (!rev.empty() && (rev[0] == '-' || rev.find_first_of(" \t\n") != std::string::npos)) {
    throw UsageError("\"" + rev + "\" is not a commit (give a SHA, tag or branch)");
  }
  auto head = runner.run({"git", "-C", dir, "rev-parse", "--verify", "-q",
                          (rev.empty() ? std::string("HEAD") : rev) + "^{commit}"});
  if (!head || head->exit_code != 0) {
    if (!rev.empty()) {
      throw UsageError("\"" + rev + "\" names no commit in " + v.repo_root +
                       " (fetch it first, or check the SHA)");
    }
    throw Error("the repository at " + v.repo_root + " has no commit yet; commit your app first");
  }
  v.sha = trim_right(head->out);
  v.prefix = git({"rev-parse", "--show-prefix"}, "git rev-parse --show-prefix");
  if (!rev.empty()) {  // a named commit: its committed tree, whatever the work tree holds
    v.tree_rev = v.sha;
    v.id = version_id(v.sha);
    return v;
  }
  std::string status = git({"status", "--porcelain", "--untracked-files=no"}, "git status");
  v.tree_rev = v.sha;
  if (!status.empty()) {
    if (!allow_dirty) {
      std::string first = status.substr(0, status.find('\n'));
      throw Error("the work tree has uncommitted changes (" + trim_right(first) +
                  (status.find('\n') != std::string::npos ? ", ..." : "") +
                  "); commit them, or deploy them anyway with --allow-dirty");
    }
    // `git stash create` records the tracked work-tree state as a commit without touching the
    // work tree, index or stash list: that commit is the build context.
    v.dirty = true;
    v.tree_rev = git({"stash", "create"}, "git stash create");
    std::string diff =
        run_local_checked(runner, {"git", "-C", dir, "diff", "--binary", "HEAD"}, "git diff");
    v.id = version_id(v.sha, sha256_hex(diff));
  } else {
    v.id = version_id(v.sha);
  }
  return v;
}

}  // namespace podlift
