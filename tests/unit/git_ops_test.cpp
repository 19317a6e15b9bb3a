// libgit2 operations on real local repositories (made with the git CLI): branch tips without a
// fetch, the mirror fetch with force-push detection, clean checkouts with submodules, URLs shown
// without credentials, and known_hosts matching for ssh remotes.
#include "watcher/git_ops.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/process.hpp"
#include "core/quote.hpp"
#include "core/text.hpp"
#include "watcher/known_hosts.hpp"

namespace podlift::watcher {
namespace {

namespace fs = std::filesystem;

std::string git(const std::string& dir, const std::string& args) {
  SystemProcessRunner r;
  auto res = r.run({"bash", "-c",
                    "cd " + shell_quote(dir) +
                        " && git -c user.email=t@podlift.invalid -c user.name=t "
                        "-c protocol.file.allow=always " +
                        args});
  if (!res || res->exit_code != 0) {
    throw std::runtime_error("git " + args + ": " + (res ? res->err : res.error()));
  }
  return trim_right(res->out);
}

class GitOpsTest : public ::testing::Test {
 protected:
  GitOpsTest() {
    std::string t = (fs::temp_directory_path() / "podlift-git.XXXXXX").string();
    root_ = mkdtemp(t.data());
    origin_ = root_ + "/origin.git";
    work_ = root_ + "/work";
    git(root_, "init -q --bare -b main origin.git");
    git(root_, "init -q -b main work");
    commit("one");
    git(work_, "remote add origin " + shell_quote(origin_));
    git(work_, "push -q origin main");
  }
  ~GitOpsTest() override { fs::remove_all(root_); }
  std::string commit(const std::string& text) {
    std::ofstream(work_ + "/file.txt") << text << "\n";
    git(work_, "add -A && git -c user.email=t@podlift.invalid -c user.name=t commit -q -m " +
                   shell_quote(text));
    return git(work_, "rev-parse HEAD");
  }
  std::string root_, origin_, work_;
};

TEST_F(GitOpsTest, TipOfABranchWithoutFetchingAndNotATagOfTheSameName) {
  auto tip = remote_branch_tip(origin_, "main", {});
  ASSERT_TRUE(tip) << tip.error();
  ASSERT_TRUE(tip->has_value());
  EXPECT_EQ(**tip, git(work_, "rev-parse HEAD"));
  git(work_, "tag env/prod && git push -q origin env/prod");
  auto missing = remote_branch_tip(origin_, "env/prod", {});
  ASSERT_TRUE(missing) << missing.error();
  EXPECT_FALSE(missing->has_value()) << "a tag named like the branch is not the branch";
  std::string sha = commit("two");
  git(work_, "push -q origin HEAD:refs/heads/env/prod");
  auto nested = remote_branch_tip("file://" + origin_, "env/prod", {});
  ASSERT_TRUE(nested) << nested.error();
  EXPECT_EQ(nested->value_or(""), sha);
}

TEST_F(GitOpsTest, AnUnreachableRemoteIsAnErrorNamingIt) {
  auto r = remote_branch_tip(root_ + "/nope.git", "main", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("nope.git"), std::string::npos) << r.error();
}

TEST_F(GitOpsTest, FetchIntoAMirrorDetectsForcePushes) {
  std::string mirror = root_ + "/mirror.git";
  auto first = fetch_branch(mirror, origin_, "main", {});
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->sha, git(work_, "rev-parse HEAD"));
  EXPECT_EQ(first->previous, "");
  EXPECT_FALSE(first->forced);
  std::string two = commit("two");
  git(work_, "push -q origin main");
  auto ff = fetch_branch(mirror, origin_, "main", {});
  ASSERT_TRUE(ff) << ff.error();
  EXPECT_EQ(ff->sha, two);
  EXPECT_FALSE(ff->forced);
  git(work_, "reset -q --hard HEAD~1");
  std::string rewritten = commit("rewritten");
  git(work_, "push -q -f origin main");
  auto forced = fetch_branch(mirror, origin_, "main", {});
  ASSERT_TRUE(forced) << forced.error();
  EXPECT_EQ(forced->sha, rewritten);
  EXPECT_EQ(forced->previous, two);
  EXPECT_TRUE(forced->forced);
  git(origin_, "config receive.denyDeleteCurrent ignore");
  git(work_, "push -q origin :main");
  auto gone = fetch_branch(mirror, origin_, "main", {});
  ASSERT_TRUE(gone) << gone.error();
  EXPECT_EQ(gone->sha, "") << "a deleted branch fetches nothing";
}

TEST_F(GitOpsTest, CheckoutIsCleanAndHasItsSubmodules) {
  // A submodule with a relative URL, resolved against the watched repository's URL.
  git(root_, "init -q --bare -b main lib.git && git init -q -b main libwork");
  std::ofstream(root_ + "/libwork/lib.txt") << "library\n";
  git(root_ + "/libwork",
      "add -A && git -c user.email=t@podlift.invalid -c user.name=t commit -q -m lib && "
      "git push -q ../lib.git main");
  git(work_, "submodule add -q ../lib.git lib");
  std::string sha = commit("with submodule");
  git(work_, "push -q origin main");
  std::string mirror = root_ + "/mirror.git";
  ASSERT_TRUE(fetch_branch(mirror, origin_, "main", {}));
  std::string dir = root_ + "/checkout";
  auto r = checkout_commit(mirror, origin_, sha, dir, {});
  ASSERT_TRUE(r) << r.error();
  std::ifstream file(dir + "/file.txt");
  std::string text((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(text, "with submodule\n");
  EXPECT_TRUE(fs::exists(dir + "/lib/lib.txt")) << "the submodule was updated";
  EXPECT_FALSE(checkout_commit(mirror, origin_, sha, dir, {})) << "an existing dir is refused";
  auto bad = checkout_commit(mirror, origin_, std::string(40, '0'), root_ + "/c2", {});
  EXPECT_FALSE(bad);
}

TEST(Urls, CredentialsAreNeverShown) {
  EXPECT_EQ(display_url("https://user:t0ken@example.com/a/b.git"), "https://example.com/a/b.git");
  EXPECT_EQ(display_url("https://t0ken@example.com/a/b.git"), "https://example.com/a/b.git");
  EXPECT_EQ(display_url("ssh://git@example.com:2222/a.git"), "ssh://git@example.com:2222/a.git");
  EXPECT_EQ(display_url("/srv/git/app.git"), "/srv/git/app.git");
  EXPECT_EQ(url_credential("https://user:t0ken@example.com/a.git"), "t0ken");
  EXPECT_EQ(url_credential("https://t0ken@example.com/a.git"), "t0ken");
  EXPECT_EQ(url_credential("ssh://git@example.com/a.git"), "");
}

std::string b64(const std::string& raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

TEST(KnownHosts, PlainHashedPortsAndMismatches) {
  const std::string key = std::string("\x00\x00\x00\x0bssh-ed25519keybytes", 23);
  const std::string other = std::string("\x00\x00\x00\x0bssh-ed25519otherkey", 23);
  std::string text =
      "# comment\n"
      "git.example.com,10.0.0.1 ssh-ed25519 " +
      b64(key) +
      "\n"
      "[git.example.com]:2222 ssh-ed25519 " +
      b64(other) + "\n";
  EXPECT_EQ(check_host_key(text, "git.example.com", 22, "ssh-ed25519", key), HostKeyStatus::kMatch);
  EXPECT_EQ(check_host_key(text, "10.0.0.1", 22, "ssh-ed25519", key), HostKeyStatus::kMatch);
  EXPECT_EQ(check_host_key(text, "git.example.com", 2222, "ssh-ed25519", key),
            HostKeyStatus::kMismatch);
  EXPECT_EQ(check_host_key(text, "other.example.com", 22, "ssh-ed25519", key),
            HostKeyStatus::kUnknown);
  // A hashed entry, as `ssh-keyscan -H` writes it: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
  std::string salt = "0123456789abcdefghij";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string name = "[127.0.0.1]:2200";
  HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(name.data()), name.size(), md, &len);
  std::string hashed = "|1|" + b64(salt) + "|" +
                       b64(std::string(reinterpret_cast<char*>(md), len)) + " ssh-ed25519 " +
                       b64(key) + "\n";
  EXPECT_EQ(check_host_key(hashed, "127.0.0.1", 2200, "ssh-ed25519", key), HostKeyStatus::kMatch);
  EXPECT_EQ(check_host_key(hashed, "127.0.0.1", 22, "ssh-ed25519", key), HostKeyStatus::kUnknown);
}

}  // namespace
}  // namespace podlift::watcher
