#include "watcher/git_ops.hpp"

#include <git2.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/redact.hpp"
#include "core/text.hpp"
#include "watcher/known_hosts.hpp"

namespace podlift::watcher {

namespace {

namespace fs = std::filesystem;

void init_libgit2() {
  static const int once = git_libgit2_init();
  (void)once;
}

// libgit2's last error, with the URL shown without credentials.
std::string last_error(const std::string& what, const std::string& url) {
  const git_error* e = git_error_last();
  std::string text = e && e->message ? e->message : "unknown libgit2 error";
  std::string shown = display_url(url);
  for (size_t at = text.find(url); !url.empty() && at != std::string::npos;
       at = text.find(url, at + shown.size())) {
    text.replace(at, url.size(), shown);
  }
  return redact(what + " " + shown + ": " + text);
}

template <typename T, void (*Free)(T*)>
struct Owned {
  T* p = nullptr;
  ~Owned() {
    if (p) Free(p);
  }
};
using Repo = Owned<git_repository, git_repository_free>;
using Remote = Owned<git_remote, git_remote_free>;
using Object = Owned<git_object, git_object_free>;
using Submodule = Owned<git_submodule, git_submodule_free>;

// What the callbacks need: credentials from the URL or the configured key, and the host key check.
struct CallbackState {
  std::string url;
  GitAuth auth;
  int credential_calls = 0;
  std::string host_key_error;  // set by the certificate check when it refuses a host
};

// user and password from "scheme://user:password@host/...", percent-encoding left as it is.
std::pair<std::string, std::string> url_userinfo(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  auto at = url.find('@', scheme + 3);
  if (at == std::string::npos || at > url.find('/', scheme + 3)) return {};
  std::string info = url.substr(scheme + 3, at - scheme - 3);
  auto colon = info.find(':');
  if (colon == std::string::npos) return {info, ""};
  return {info.substr(0, colon), info.substr(colon + 1)};
}

// The port of an ssh URL (22 unless "ssh://[user@]host:port/...").
int ssh_port(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return 22;
  std::string authority = url.substr(scheme + 3, url.find('/', scheme + 3) - scheme - 3);
  authority =
      authority.substr(authority.find('@') == std::string::npos ? 0 : authority.find('@') + 1);
  auto colon = authority.rfind(':');
  if (colon == std::string::npos || authority.back() == ']') return 22;
  int port = std::atoi(authority.c_str() + colon + 1);
  return port > 0 ? port : 22;
}

int credentials(git_credential** out, const char* /*url*/, const char* username_from_url,
                unsigned int allowed, void* payload) {
  auto* st = static_cast<CallbackState*>(payload);
  // libgit2 asks again after a refused credential; a second try would be the same one.
  if (++st->credential_calls > 3) {
    git_error_set_str(GIT_ERROR_NET, "authentication failed (credentials refused by the remote)");
    return GIT_EAUTH;
  }
  auto [user, password] = url_userinfo(st->url);
  std::string name = username_from_url ? username_from_url : user;
  if (allowed & GIT_CREDENTIAL_SSH_KEY) {
    if (name.empty()) name = "git";
    if (!st->auth.ssh_key.empty()) {
      return git_credential_ssh_key_new(out, name.c_str(), nullptr,
                                        expand_home(st->auth.ssh_key).c_str(), nullptr);
    }
    return git_credential_ssh_key_from_agent(out, name.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !user.empty()) {
    // https://TOKEN@host: the token is the password (GitHub, GitLab and Gitea accept that).
    if (password.empty()) return git_credential_userpass_plaintext_new(out, "git", user.c_str());
    return git_credential_userpass_plaintext_new(out, user.c_str(), password.c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERNAME) {
    return git_credential_username_new(out, name.empty() ? "git" : name.c_str());
  }
  git_error_set_str(GIT_ERROR_NET,
                    "the remote asks for credentials; put a token in the URL "
                    "(https://user:TOKEN@host/...) or use an ssh:// URL with watch.ssh_key");
  return GIT_EAUTH;
}

const char* key_type_name(git_cert_ssh_raw_type_t t) {
  switch (t) {
    case GIT_CERT_SSH_RAW_TYPE_RSA:
      return "ssh-rsa";
    case GIT_CERT_SSH_RAW_TYPE_DSS:
      return "ssh-dss";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256:
      return "ecdsa-sha2-nistp256";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384:
      return "ecdsa-sha2-nistp384";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521:
      return "ecdsa-sha2-nistp521";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519:
      return "ssh-ed25519";
    default:
      return "";
  }
}

// ssh host keys are checked against known_hosts; TLS certificates keep libgit2's own verdict.
int certificate_check(git_cert* cert, int valid, const char* host, void* payload) {
  auto* st = static_cast<CallbackState*>(payload);
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return valid ? 0 : GIT_PASSTHROUGH;
  auto* key = reinterpret_cast<git_cert_hostkey*>(cert);
  std::string type = (key->type & GIT_CERT_SSH_RAW) ? key_type_name(key->raw_type) : "";
  std::string file =
      expand_home(st->auth.known_hosts.empty() ? "~/.ssh/known_hosts" : st->auth.known_hosts);
  int port = ssh_port(st->url);
  std::string name = known_hosts_name(host, port);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  auto status = type.empty() ? HostKeyStatus::kUnknown
                             : check_host_key(text.str(), host, port, type,
                                              std::string_view(key->hostkey, key->hostkey_len));
  if (status == HostKeyStatus::kMatch) return 0;
  st->host_key_error = status == HostKeyStatus::kMismatch
                           ? "host key of " + name + " does not match " + file +
                                 " (if the server's key really changed: ssh-keygen -R '" + name +
                                 "' -f " + file + ", then add the new one)"
                           : "host key of " + name + " is not in " + file +
                                 " (add it after checking it: " + "ssh-keyscan -p " +
                                 std::to_string(port) + " " + host + " >> " + file + ")";
  git_error_set_str(GIT_ERROR_SSH, st->host_key_error.c_str());
  return GIT_ECERTIFICATE;
}

void set_callbacks(git_remote_callbacks& cb, CallbackState& st) {
  cb.credentials = credentials;
  cb.certificate_check = certificate_check;
  cb.payload = &st;
}

std::string oid_hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

// Initialises, syncs and updates the submodules of `repo`, then theirs.
int update_submodules(git_repository* repo, CallbackState& st, std::string& error) {
  struct Walk {
    CallbackState* st;
    std::string* error;
  } walk{&st, &error};
  return git_submodule_foreach(
      repo,
      [](git_submodule* sm_in, const char* name, void* payload) -> int {
        auto* w = static_cast<Walk*>(payload);
        (void)sm_in;
        Submodule sm;
        git_repository* owner = git_submodule_owner(sm_in);
        if (git_submodule_lookup(&sm.p, owner, name) != 0 || git_submodule_init(sm.p, 1) != 0 ||
            git_submodule_sync(sm.p) != 0) {
          *w->error = last_error(std::string("submodule ") + name + " of", w->st->url);
          return -1;
        }
        git_submodule_update_options opts = GIT_SUBMODULE_UPDATE_OPTIONS_INIT;
        set_callbacks(opts.fetch_opts.callbacks, *w->st);
        opts.allow_fetch = 1;
        const char* url = git_submodule_url(sm.p);
        w->st->credential_calls = 0;
        if (git_submodule_update(sm.p, 1, &opts) != 0) {
          *w->error =
              last_error(std::string("updating submodule ") + name + " from", url ? url : "");
          return -1;
        }
        Repo sub;
        if (git_submodule_open(&sub.p, sm.p) != 0) {
          *w->error = last_error(std::string("opening submodule ") + name + " of", w->st->url);
          return -1;
        }
        return update_submodules(sub.p, *w->st, *w->error);
      },
      &walk);
}

}  // namespace

std::string display_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto at = url.find('@', scheme + 3);
  auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || at > slash) return url;
  // Keep a bare ssh user name (ssh://git@host/...), which is not a secret.
  std::string info = url.substr(scheme + 3, at - scheme - 3);
  bool http = url.rfind("http", 0) == 0;
  if (!http && info.find(':') == std::string::npos) return url;
  return url.substr(0, scheme + 3) + url.substr(at + 1);
}

std::string url_credential(const std::string& url) {
  auto [user, password] = url_userinfo(url);
  if (!password.empty()) return password;
  return url.rfind("http", 0) == 0 ? user : "";
}

Result<std::optional<std::string>> remote_branch_tip(const std::string& url,
                                                     const std::string& branch,
                                                     const GitAuth& auth) {
  using R = Result<std::optional<std::string>>;
  init_libgit2();
  CallbackState st{url, auth, 0, ""};
  Remote remote;
  if (git_remote_create_detached(&remote.p, url.c_str()) != 0) {
    return R::failure(last_error("bad repository URL", url));
  }
  git_remote_callbacks cb = GIT_REMOTE_CALLBACKS_INIT;
  set_callbacks(cb, st);
  if (git_remote_connect(remote.p, GIT_DIRECTION_FETCH, &cb, nullptr, nullptr) != 0) {
    return R::failure(last_error("cannot reach", url));
  }
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (git_remote_ls(&heads, &count, remote.p) != 0) {
    return R::failure(last_error("cannot list the refs of", url));
  }
  const std::string ref = "refs/heads/" + branch;
  for (size_t i = 0; i < count; ++i) {
    if (ref == heads[i]->name) return R(std::optional<std::string>(oid_hex(heads[i]->oid)));
  }
  return R(std::optional<std::string>());
}

Result<FetchResult> fetch_branch(const std::string& mirror, const std::string& url,
                                 const std::string& branch, const GitAuth& auth) {
  using R = Result<FetchResult>;
  init_libgit2();
  Repo repo;
  std::error_code ec;
  if (fs::exists(fs::path(mirror) / "HEAD", ec)) {
    if (git_repository_open_bare(&repo.p, mirror.c_str()) != 0) {
      return R::failure(last_error("cannot open the mirror " + mirror + " of", url));
    }
  } else if (git_repository_init(&repo.p, mirror.c_str(), 1) != 0) {
    return R::failure(last_error("cannot create the mirror " + mirror + " of", url));
  }
  const std::string ref = "refs/heads/" + branch;
  FetchResult out;
  git_oid before;
  bool had = git_reference_name_to_id(&before, repo.p, ref.c_str()) == 0;
  if (had) out.previous = oid_hex(before);

  CallbackState st{url, auth, 0, ""};
  Remote remote;
  if (git_remote_create_anonymous(&remote.p, repo.p, url.c_str()) != 0) {
    return R::failure(last_error("bad repository URL", url));
  }
  // Forced: a force-pushed branch replaces the mirror's, as it did on the remote.
  std::string spec = "+" + ref + ":" + ref;
  char* specs[] = {spec.data()};
  git_strarray refspecs = {specs, 1};
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  set_callbacks(opts.callbacks, st);
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  opts.prune = GIT_FETCH_NO_PRUNE;
  if (git_remote_fetch(remote.p, &refspecs, &opts, "podlift watch") != 0) {
    return R::failure(last_error("cannot fetch " + branch + " from", url));
  }
  // A branch deleted on the remote fetches nothing and leaves the mirror's ref as it was: ask
  // what the remote advertised (still listed after the fetch disconnected).
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  bool advertised = false;
  if (git_remote_ls(&heads, &count, remote.p) == 0) {
    for (size_t i = 0; i < count; ++i) advertised = advertised || ref == heads[i]->name;
  }
  if (!advertised) return R(out);
  git_oid after;
  if (git_reference_name_to_id(&after, repo.p, ref.c_str()) != 0) return R(out);
  out.sha = oid_hex(after);
  if (had && !git_oid_equal(&before, &after)) {
    out.forced = git_graph_descendant_of(repo.p, &after, &before) != 1;
  }
  return R(out);
}

Result<bool> checkout_commit(const std::string& mirror, const std::string& url,
                             const std::string& sha, const std::string& dir, const GitAuth& auth) {
  using R = Result<bool>;
  init_libgit2();
  std::error_code ec;
  if (fs::exists(dir, ec)) return R::failure("checkout directory " + dir + " already exists");
  Repo repo;
  git_clone_options clone = GIT_CLONE_OPTIONS_INIT;
  clone.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE;
  if (git_clone(&repo.p, mirror.c_str(), dir.c_str(), &clone) != 0) {
    return R::failure(last_error("cannot clone the mirror of", url));
  }
  git_oid oid;
  Object commit;
  if (git_oid_fromstr(&oid, sha.c_str()) != 0 ||
      git_object_lookup(&commit.p, repo.p, &oid, GIT_OBJECT_COMMIT) != 0) {
    return R::failure(last_error("commit " + sha + " is not in the mirror of", url));
  }
  git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
  co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED;
  if (git_checkout_tree(repo.p, commit.p, &co) != 0 ||
      git_repository_set_head_detached(repo.p, &oid) != 0) {
    return R::failure(last_error("cannot check out " + sha + " of", url));
  }
  // Relative submodule URLs ("../lib.git") resolve against origin: make it the real remote.
  if (git_remote_set_url(repo.p, "origin", url.c_str()) != 0) {
    return R::failure(last_error("cannot set origin of the checkout to", url));
  }
  CallbackState st{url, auth, 0, ""};
  std::string error;
  if (update_submodules(repo.p, st, error) != 0) {
    return R::failure(error.empty() ? last_error("submodules of", url) : error);
  }
  return R(true);
}

}  // namespace podlift::watcher
