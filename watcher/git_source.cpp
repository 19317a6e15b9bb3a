#include "watcher/git_source.hpp"

#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>

#include "core/redact.hpp"
#include "core/text.hpp"

namespace podlift::watcher {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

json base_request(const GitSourceSettings& s, const char* op) {
  return json{{"op", op},
              {"url", s.url},
              {"branch", s.branch},
              {"ssh_key", s.auth.ssh_key},
              {"known_hosts", s.auth.known_hosts},
              {"mirror", s.work_dir + "/mirror.git"}};
}

}  // namespace

std::string ChildGitSource::describe() const {
  return display_url(s_.url) + " " + s_.branch;
}

Result<std::string> ChildGitSource::call(const std::string& request_json,
                                         std::chrono::milliseconds timeout,
                                         const std::string& what) {
  ProcessOptions opts;
  opts.stdin_data = request_json;  // on stdin, not argv: the URL may hold a token
  opts.timeout = timeout;
  auto r = runner_.run(s_.helper, opts);
  if (!r) {
    bool timed_out = r.error().find("timed out") != std::string::npos;
    return Result<std::string>::failure(
        timed_out ? what + " " + display_url(s_.url) + ": no answer within " +
                        std::to_string(timeout.count() / 1000) +
                        "s (the remote accepted the connection but did not respond)"
                  : redact(what + ": " + r.error()));
  }
  try {
    json answer = json::parse(r->out);
    if (!answer.value("ok", false)) {
      return Result<std::string>::failure(redact(answer.value("error", std::string("failed"))));
    }
    return Result<std::string>(r->out);
  } catch (const json::exception&) {
    std::string err = trim_right(r->err);
    return Result<std::string>::failure(redact(what + ": the git helper failed (exit " +
                                               std::to_string(r->exit_code) + ")" +
                                               (err.empty() ? "" : ": " + err)));
  }
}

Result<std::optional<std::string>> ChildGitSource::tip() {
  using R = Result<std::optional<std::string>>;
  auto r = call(base_request(s_, "tip").dump(), s_.ls_timeout, "listing the branches of");
  if (!r) return R::failure(r.error());
  json a = json::parse(*r);
  if (a["sha"].is_null()) return R(std::optional<std::string>());
  return R(std::optional<std::string>(a["sha"].get<std::string>()));
}

Result<FetchResult> ChildGitSource::fetch() {
  auto r = call(base_request(s_, "fetch").dump(), s_.fetch_timeout, "fetching");
  if (!r) return Result<FetchResult>::failure(r.error());
  json a = json::parse(*r);
  FetchResult f;
  f.sha = a.value("sha", "");
  f.previous = a.value("previous", "");
  f.forced = a.value("forced", false);
  return f;
}

Result<std::string> ChildGitSource::checkout(const std::string& sha) {
  std::error_code ec;
  fs::create_directories(s_.work_dir + "/checkouts", ec);
  static std::mt19937 rng{std::random_device{}()};
  std::string dir =
      s_.work_dir + "/checkouts/" + sha.substr(0, 12) + "-" + std::to_string(rng() % 1000000);
  json req = base_request(s_, "checkout");
  req["sha"] = sha;
  req["dir"] = dir;
  auto r = call(req.dump(), s_.fetch_timeout, "checking out " + sha.substr(0, 12));
  if (!r) {
    remove_checkout(dir);
    return Result<std::string>::failure(r.error());
  }
  return dir;
}

void ChildGitSource::remove_checkout(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

int run_git_helper(std::istream& in, std::ostream& out) {
  json answer;
  try {
    json req = json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    std::string op = req.at("op");
    std::string url = req.at("url");
    register_secret(url_credential(url));
    std::string branch = req.at("branch");
    GitAuth auth{req.value("ssh_key", ""), req.value("known_hosts", "")};
    if (op == "tip") {
      auto r = remote_branch_tip(url, branch, auth);
      if (!r) throw Error(r.error());
      answer = {{"ok", true}, {"sha", r->has_value() ? json(**r) : json(nullptr)}};
    } else if (op == "fetch") {
      auto r = fetch_branch(req.at("mirror"), url, branch, auth);
      if (!r) throw Error(r.error());
      answer = {{"ok", true}, {"sha", r->sha}, {"previous", r->previous}, {"forced", r->forced}};
    } else if (op == "checkout") {
      auto r = checkout_commit(req.at("mirror"), url, req.at("sha"), req.at("dir"), auth);
      if (!r) throw Error(r.error());
      answer = {{"ok", true}};
    } else {
      throw Error("unknown git helper operation \"" + op + "\"");
    }
  } catch (const std::exception& e) {
    answer = {{"ok", false}, {"error", e.what()}};
  }
  out << answer.dump() << "\n";
  return answer["ok"].get<bool>() ? 0 : 1;
}

}  // namespace podlift::watcher
