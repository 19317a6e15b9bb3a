// `podlift watch` end to end: a real watcher process follows a real bare git repository (pushed to
// from the sample app's repository) and deploys to a real test server. Pushes are noticed by
// polling and by signed webhooks of every provider (signatures computed here); force-pushes,
// deleted branches, bursts, duplicates, pause/resume, CLI deploys, SIGHUP, SIGTERM, kill -9,
// a hung git remote, notifications and the status page in headless Chromium are exercised.
// The tests of this suite share one server and one watcher and run in order.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/quote.hpp"
#include "harness.hpp"

namespace podlift::e2e {
namespace {

using json = nlohmann::json;
const std::string kSecret = "It's a Secret to Everybody";  // GitHub's published test secret

std::string hmac_hex(const std::string& key, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool eventually(const std::function<bool()>& pred, int seconds) {
  for (int i = 0; i < seconds * 5; ++i) {
    if (pred()) return true;
    sleep_ms(200);
  }
  return pred();
}

struct Reply {
  int status = 0;
  std::string body;
};

// Receives deploy notifications (the watcher's notify_url).
class NotifyReceiver {
 public:
  NotifyReceiver() : port_(free_port()) {
    server_.Post("/notify", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      bodies_.push_back(req.body);
      res.set_content("ok", "text/plain");
    });
    thread_ = std::thread([this] { server_.listen("127.0.0.1", port_); });
  }
  ~NotifyReceiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  int port_;
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

class WatcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!prepare_environment().empty()) return;
    d_ = std::make_unique<Deployment>("watch");
    notify_ = std::make_unique<NotifyReceiver>();
    origin_ = work_dir() + "/watch-origin.git";
    port_ = free_port();
    run({"git", "clone", "-q", "--bare", d_->repo().dir(), origin_});
    run({"git", "-C", origin_, "config", "receive.denyDeleteCurrent", "ignore"});
    git("remote add origin " + shell_quote(origin_));
    std::ofstream(d_->repo().dir() + "/.env", std::ios::app)
        << "PODLIFT_WEBHOOK_SECRET=\"" << kSecret << "\"\n";
    write_config("1s");
    start_watcher();
  }
  static void TearDownTestSuite() {
    stop_watcher();
    notify_.reset();
    d_.reset();
  }
  void SetUp() override {
    if (!prepare_environment().empty()) GTEST_SKIP() << prepare_environment();
    ASSERT_TRUE(watcher_) << "the watcher did not start";
  }

  static void write_config(const std::string& poll_interval) {
    d_->write_config(
        "watch:\n  repo: " + origin_ + "\n  branch: main\n  poll_interval: " + poll_interval +
        "\n  state_dir: " + work_dir() +
        "/watch-state\n  listen: 127.0.0.1:" + std::to_string(port_) +
        "\n  notify_url: http://127.0.0.1:" + std::to_string(notify_->port()) + "/notify\n");
  }
  static void start_watcher(const std::string& env = "") {
    watcher_ = std::make_unique<Background>(d_->repo().dir(), "watch", env);
    if (!watcher_->wait_for_output("watching ", 30)) {
      ADD_FAILURE() << "watcher did not start:\n" << watcher_->out();
    }
  }
  static void stop_watcher() {
    if (!watcher_) return;
    ::kill(watcher_->pid(), SIGTERM);
    watcher_->wait(60);
    watcher_.reset();
  }
  static Exec git(const std::string& args) {
    return sh("cd " + shell_quote(d_->repo().dir()) +
              " && git -c user.email=e2e@podlift.invalid -c user.name=e2e " + args);
  }
  // Commits a change of message.txt and pushes it; returns the new SHA.
  static std::string push(const std::string& message, bool force = false) {
    std::string sha = d_->repo().commit_file("message.txt", message + "\n", message);
    Exec r = git(std::string("push -q ") + (force ? "-f " : "") + "origin HEAD:main");
    EXPECT_EQ(r.rc, 0) << r.all();
    return sha;
  }
  static Reply post(const std::string& provider, const std::vector<std::string>& headers,
                    const std::string& body) {
    std::string file = work_dir() + "/hook-body";
    std::ofstream(file, std::ios::trunc | std::ios::binary) << body;
    std::vector<std::string> argv = {
        "curl",          "-s",      "-o", "-", "-w", "\n%{http_code}", "--max-time", "10",
        "--data-binary", "@" + file};
    for (const auto& h : headers) {
      argv.push_back("-H");
      argv.push_back(h);
    }
    argv.push_back(url("/hooks/" + provider));
    Exec r = run(argv);
    auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return {};
    return {std::atoi(r.out.c_str() + nl + 1), r.out.substr(0, nl)};
  }
  static Reply github_push(const std::string& delivery = "") {
    std::string body = R"({"ref":"refs/heads/main","after":"ignored-by-podlift"})";
    std::vector<std::string> h = {"Content-Type: application/json", "X-GitHub-Event: push",
                                  "X-Hub-Signature-256: sha256=" + hmac_hex(kSecret, body)};
    if (!delivery.empty()) h.push_back("X-GitHub-Delivery: " + delivery);
    return post("github", h, body);
  }
  static std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  static json status() {
    Exec r = run({"curl", "-s", "--max-time", "5", url("/status.json")});
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }
  static std::vector<json> records() {
    auto s = status();
    std::vector<json> out;
    if (s.contains("history")) {
      for (const auto& r : s["history"]) out.push_back(r);  // newest first
    }
    return out;
  }
  static long long newest_id() {
    auto r = records();
    return r.empty() ? 0 : r.front().value("id", 0LL);
  }
  // Serves `sha`, and the watcher's deploy of it has finished (drain, stop, prune included).
  static bool serves(const std::string& sha, int seconds = 90) {
    return eventually([&] { return d_->served_version() == sha; }, seconds) && idle();
  }
  static bool idle(int seconds = 60) {
    return eventually([&] { return status().value("running", json()).is_null(); }, seconds);
  }

  static std::unique_ptr<Deployment> d_;
  static std::unique_ptr<NotifyReceiver> notify_;
  static std::unique_ptr<Background> watcher_;
  static std::string origin_;
  static int port_;
};
std::unique_ptr<Deployment> WatcherTest::d_;
std::unique_ptr<NotifyReceiver> WatcherTest::notify_;
std::unique_ptr<Background> WatcherTest::watcher_;
std::string WatcherTest::origin_;
int WatcherTest::port_ = 0;

TEST_F(WatcherTest, APolledPushIsDeployedWithoutAFailedRequest) {
  ASSERT_TRUE(serves(d_->repo().head())) << "first deploy by the watcher:\n" << watcher_->out();
  const std::string site = "http://127.0.0.1:" + std::to_string(d_->server().http_port()) + "/";
  sh("wrk -t2 -c16 -d20s " + site + " > " + shell_quote(work_dir() + "/watch-wrk.txt") + " 2>&1 &");
  sleep_ms(1000);
  const std::string sha = push("polled");
  EXPECT_TRUE(serves(sha)) << watcher_->out();
  sh("while pgrep -x wrk >/dev/null; do sleep 0.5; done", 60);
  WrkTotals t = parse_wrk(read_file(work_dir() + "/watch-wrk.txt"));
  std::printf("watcher e2e: requests=%ld failed=%ld\n", t.requests, t.failed);
  EXPECT_GT(t.requests, 500);
  EXPECT_EQ(t.failed, 0) << read_file(work_dir() + "/watch-wrk.txt");
  auto last = records().front();
  EXPECT_EQ(last["trigger"], "poll");
  EXPECT_EQ(last["sha"], sha);
  EXPECT_EQ(last["result"], "success");
  // The notification URL got the same deploy.
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& b : notify_->bodies()) {
          if (b.find(sha) != std::string::npos && b.find("\"success\"") != std::string::npos)
            return true;
        }
        return false;
      },
      10));
  Exec st = d_->podlift({"watch", "status"});
  EXPECT_EQ(st.rc, 0) << st.all();
  EXPECT_NE(st.out.find("deployed tip:  " + sha.substr(0, 12)), std::string::npos) << st.out;
}

TEST_F(WatcherTest, TheStatusPageRendersInHeadlessChromium) {
  const std::string sha = d_->served_version();
  Exec r =
      run({"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + work_dir() + "/chromium", "--dump-dom", url("/")},
          120);
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.out.find("<span id=\"service\">hello</span>"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<td id=\"branch\">main</td>"), std::string::npos);
  EXPECT_NE(r.out.find(sha.substr(0, 12)), std::string::npos);
  EXPECT_NE(r.out.find("class=\"success\""), std::string::npos);
  EXPECT_NE(r.out.find("Live per server"), std::string::npos);
  EXPECT_EQ(r.out.find(kSecret), std::string::npos);
  EXPECT_EQ(run({"curl", "-s", url("/healthz")}).out, "ok\n");
  Exec metrics = run({"curl", "-s", url("/metrics")});
  EXPECT_NE(metrics.out.find("podlift_deploys_total{service=\"hello\",result=\"success\"} 2"),
            std::string::npos)
      << metrics.out;
}

TEST_F(WatcherTest, SighupReloadsTheConfig) {
  write_config("1h");  // from now on only webhooks make the watcher look
  ::kill(watcher_->pid(), SIGHUP);
  EXPECT_TRUE(watcher_->wait_for_output("reloaded: watching", 30)) << watcher_->out();
  sleep_ms(1500);  // the reload's own poll
}

TEST_F(WatcherTest, EverySignedProviderWebhookDeploys) {
  struct Case {
    std::string name, provider;
    std::function<std::pair<std::vector<std::string>, std::string>()> make;
  };
  const std::string push_json = R"({"ref":"refs/heads/main"})";
  const std::string form = "payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D";
  const std::string bb =
      R"({"push":{"changes":[{"new":{"type":"branch","name":"main"},"old":null}]}})";
  std::vector<Case> cases = {
      {"github json", "github",
       [&] {
         return std::pair{std::vector<std::string>{
                              "X-GitHub-Event: push", "Content-Type: application/json",
                              "X-Hub-Signature-256: sha256=" + hmac_hex(kSecret, push_json)},
                          push_json};
       }},
      {"github form", "github",
       [&] {
         return std::pair{
             std::vector<std::string>{"X-GitHub-Event: push",
                                      "Content-Type: application/x-www-form-urlencoded",
                                      "X-Hub-Signature-256: sha256=" + hmac_hex(kSecret, form)},
             form};
       }},
      {"gitlab", "gitlab",
       [&] {
         return std::pair{
             std::vector<std::string>{"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: " + kSecret,
                                      "Content-Type: application/json"},
             push_json};
       }},
      {"gitea", "gitea",
       [&] {
         return std::pair{
             std::vector<std::string>{"X-Gitea-Event: push", "Content-Type: application/json",
                                      "X-Gitea-Signature: " + hmac_hex(kSecret, push_json)},
             push_json};
       }},
      {"forgejo form", "gitea",
       [&] {
         return std::pair{
             std::vector<std::string>{"X-Forgejo-Event: push",
                                      "Content-Type: application/x-www-form-urlencoded",
                                      "X-Forgejo-Signature: " + hmac_hex(kSecret, push_json)},
             form};
       }},
      {"bitbucket", "bitbucket",
       [&] {
         return std::pair{
             std::vector<std::string>{"X-Event-Key: repo:push", "Content-Type: application/json",
                                      "X-Hub-Signature: sha256=" + hmac_hex(kSecret, bb)},
             bb};
       }},
      {"generic hmac", "generic",
       [&] {
         std::string b = R"({"branch":"main"})";
         return std::pair{std::vector<std::string>{"X-Signature: sha256=" + hmac_hex(kSecret, b)},
                          b};
       }},
      {"generic bearer", "generic",
       [&] {
         return std::pair{std::vector<std::string>{"Authorization: Bearer " + kSecret},
                          std::string()};
       }},
  };
  for (const auto& c : cases) {
    const std::string sha = push("via " + c.name);
    auto [headers, body] = c.make();
    Reply r = post(c.provider, headers, body);
    EXPECT_EQ(r.status, 202) << c.name << ": " << r.body;
    EXPECT_TRUE(serves(sha, 60)) << c.name << "\n" << watcher_->out();
    EXPECT_EQ(records().front()["trigger"], "webhook " + c.provider) << c.name;
  }
}

TEST_F(WatcherTest, BadRequestsAreRefusedAndAFloodDoesNotStopADeploy) {
  const std::string live = d_->served_version();
  const std::string body = R"({"ref":"refs/heads/main"})";
  const long long before = newest_id();
  EXPECT_EQ(post("github", {"X-GitHub-Event: push", "X-Hub-Signature-256: sha256=00"}, body).status,
            401);
  EXPECT_EQ(post("github", {"X-GitHub-Event: push"}, body).status, 401);
  EXPECT_EQ(post("gitlab", {"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: nope"}, body).status,
            401);
  std::string junk = "not json";
  EXPECT_EQ(post("github",
                 {"X-GitHub-Event: push", "Content-Type: application/json",
                  "X-Hub-Signature-256: sha256=" + hmac_hex(kSecret, junk)},
                 junk)
                .status,
            400);
  std::string tag = R"({"ref":"refs/tags/main"})";
  Reply t = post("github",
                 {"X-GitHub-Event: push", "Content-Type: application/json",
                  "X-Hub-Signature-256: sha256=" + hmac_hex(kSecret, tag)},
                 tag);
  EXPECT_EQ(t.status, 200);
  EXPECT_NE(t.body.find("ignored"), std::string::npos) << t.body;
  // GitHub's published test vector, as a ping.
  Reply ping = post("github",
                    {"X-GitHub-Event: ping",
                     "X-Hub-Signature-256: "
                     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
                    "Hello, World!");
  EXPECT_EQ(ping.status, 200) << ping.body;
  EXPECT_EQ(run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url("/hooks/github")}).out,
            "405");
  EXPECT_EQ(run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url("/nope")}).out, "404");
  Exec big =
      sh("head -c 6000000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' "
         "--data-binary @- -H 'X-GitHub-Event: push' " +
         url("/hooks/github"));
  EXPECT_EQ(big.out, "413");
  EXPECT_EQ(newest_id(), before) << "nothing was deployed for any of them";
  EXPECT_EQ(d_->served_version(), live);

  // A flood of badly signed deliveries while a real one deploys.
  const std::string sha = push("during a flood");
  sh("hey -n 4000 -c 50 -m POST -H 'X-GitHub-Event: push' -H 'X-Hub-Signature-256: sha256=00' "
     "-d '{}' " +
     url("/hooks/github") + " > " + shell_quote(work_dir() + "/flood.txt") + " 2>&1 &");
  EXPECT_EQ(github_push().status, 202);
  EXPECT_TRUE(serves(sha, 90)) << watcher_->out();
  sh("while pgrep -x hey >/dev/null; do sleep 0.5; done", 60);
  EXPECT_NE(read_file(work_dir() + "/flood.txt").find("[401]"), std::string::npos)
      << read_file(work_dir() + "/flood.txt");
  EXPECT_EQ(run({"curl", "-s", url("/healthz")}).out, "ok\n");
}

TEST_F(WatcherTest, TheSameDeliveryPostedTwiceAtOnceDeploysOnce) {
  const long long before = newest_id();
  const std::string sha = push("duplicate delivery");
  std::string body = R"({"ref":"refs/heads/main"})";
  std::string cmd;
  for (int i = 0; i < 2; ++i) {
    cmd +=
        "curl -s -o /dev/null -w '%{http_code}\\n' -H 'X-GitHub-Event: push' "
        "-H 'Content-Type: application/json' -H 'X-GitHub-Delivery: dup-1' "
        "-H 'X-Hub-Signature-256: sha256=" +
        hmac_hex(kSecret, body) + "' -d '" + body + "' " + url("/hooks/github") + " & ";
  }
  Exec both = sh(cmd + "wait");
  EXPECT_NE(both.out.find("202"), std::string::npos) << both.out;
  EXPECT_NE(both.out.find("200"), std::string::npos) << both.out;
  EXPECT_TRUE(serves(sha, 60));
  sleep_ms(2000);
  EXPECT_EQ(newest_id(), before + 1);
}

TEST_F(WatcherTest, ABurstOfTenPushesGivesAtMostTwoDeploysEndingOnTheNewest) {
  const long long before = newest_id();
  std::string sha;
  for (int i = 0; i < 10; ++i) {
    sha = push("burst " + std::to_string(i));
    EXPECT_EQ(github_push().status, 202);
  }
  EXPECT_TRUE(serves(sha, 120)) << watcher_->out();
  sleep_ms(2000);
  auto recs = records();
  long long deploys = newest_id() - before;
  std::printf("burst of 10 pushes: %lld deploys\n", deploys);
  EXPECT_GE(deploys, 1);
  EXPECT_LE(deploys, 2);
  EXPECT_EQ(recs.front()["sha"], sha);
}

TEST_F(WatcherTest, AForcePushIsDeployedAndRecordedAsForced) {
  ASSERT_EQ(git("reset -q --hard HEAD~2").rc, 0);
  const std::string sha = push("rewritten history", true);
  EXPECT_EQ(github_push().status, 202);
  EXPECT_TRUE(serves(sha, 60)) << watcher_->out();
  auto last = records().front();
  EXPECT_EQ(last["sha"], sha);
  EXPECT_EQ(last["forced"], true) << last.dump();
  EXPECT_TRUE(watcher_->wait_for_output("was force-pushed", 5));
}

TEST_F(WatcherTest, ADeletedBranchDeploysNothingAndIsLoggedLoudly) {
  const std::string live = d_->served_version();
  const long long before = newest_id();
  ASSERT_EQ(git("push -q origin :main").rc, 0);
  Reply r = post("generic", {"Authorization: Bearer " + kSecret}, "");
  EXPECT_EQ(r.status, 202);
  EXPECT_TRUE(watcher_->wait_for_output("branch main does not exist", 20)) << watcher_->out();
  EXPECT_TRUE(eventually([&] { return status()["state"].value("branch_missing", false); }, 10));
  EXPECT_EQ(newest_id(), before);
  EXPECT_EQ(d_->served_version(), live);
  const std::string sha = push("branch is back");
  EXPECT_EQ(github_push().status, 202);
  EXPECT_TRUE(serves(sha, 60)) << watcher_->out();
}

TEST_F(WatcherTest, PauseAndResumeFromTheCli) {
  const std::string live = d_->served_version();
  Exec p = d_->podlift({"watch", "pause", "-m", "release freeze"});
  ASSERT_EQ(p.rc, 0) << p.all();
  const std::string sha = push("while paused");
  EXPECT_EQ(github_push().status, 202);
  sleep_ms(4000);
  EXPECT_EQ(d_->served_version(), live);
  Exec st = d_->podlift({"watch", "status"});
  EXPECT_NE(st.out.find("paused by"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("release freeze"), std::string::npos) << st.out;
  ASSERT_EQ(d_->podlift({"watch", "resume"}).rc, 0);
  EXPECT_EQ(github_push().status, 202);
  EXPECT_TRUE(serves(sha, 60)) << watcher_->out();
}

TEST_F(WatcherTest, ACliDeployOfAnOlderShaStandsUntilTheNextPush) {
  auto recs = records();
  ASSERT_GE(recs.size(), 2u);
  const std::string older = recs[1]["sha"];
  Exec r = d_->podlift({"deploy", "--sha", older, "--lock-wait", "60"});
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_EQ(d_->served_version(), older);
  EXPECT_EQ(records().front()["trigger"], "cli deploy");
  EXPECT_EQ(github_push().status, 202);  // the branch has not moved: nothing to do
  sleep_ms(3000);
  EXPECT_EQ(d_->served_version(), older);
  Exec bad = d_->podlift({"deploy", "--sha", "no-such-commit"});
  EXPECT_EQ(bad.rc, 2) << bad.all();
  EXPECT_NE(bad.err.find("names no commit"), std::string::npos) << bad.err;
  const std::string sha = push("after the cli deploy");
  EXPECT_EQ(github_push().status, 202);
  EXPECT_TRUE(serves(sha, 60)) << watcher_->out();
}

TEST_F(WatcherTest, SigtermDuringADeployAbandonsItSafely) {
  const std::string live = d_->served_version();
  const size_t seen = watcher_->out().size();
  d_->repo().commit_file("HEALTHY_AFTER", "60\n", "slow to start");
  ASSERT_EQ(git("push -q origin HEAD:main").rc, 0);
  EXPECT_EQ(github_push().status, 202);
  ASSERT_TRUE(watcher_->wait_for_output("started hello-", 90, seen)) << watcher_->out();
  sleep_ms(1000);
  ::kill(watcher_->pid(), SIGTERM);
  EXPECT_EQ(watcher_->wait(60), 0) << watcher_->out();
  EXPECT_NE(watcher_->out().find("interrupted by SIGTERM"), std::string::npos) << watcher_->out();
  EXPECT_EQ(d_->served_version(), live);
  EXPECT_EQ(std::atoi(d_->server()
                          .exec("docker ps -q --filter label=podlift.service=hello | wc -l")
                          .out.c_str()),
            1);
  Exec lock = d_->podlift({"lock", "status"});
  EXPECT_NE(lock.out.find(": free"), std::string::npos) << lock.all();
  Exec st = d_->podlift({"watch", "status"});
  EXPECT_NE(st.out.find("interrupted"), std::string::npos) << st.out;
  // Fast again before the watcher comes back.
  d_->repo().remove_and_commit("HEALTHY_AFTER", "fast again");
  ASSERT_EQ(git("push -q origin HEAD:main").rc, 0);
  start_watcher();
  EXPECT_TRUE(serves(d_->repo().head(), 60)) << watcher_->out();
}

TEST_F(WatcherTest, AfterKillDashNineARestartedWatcherResumes) {
  ASSERT_TRUE(idle());
  const size_t seen = watcher_->out().size();
  d_->repo().commit_file("HEALTHY_AFTER", "20\n", "slowish");
  ASSERT_EQ(git("push -q origin HEAD:main").rc, 0);
  EXPECT_EQ(github_push().status, 202);
  ASSERT_TRUE(watcher_->wait_for_output("started hello-", 90, seen)) << watcher_->out();
  ::kill(watcher_->pid(), SIGKILL);
  watcher_->wait(10);
  watcher_.reset();
  const std::string sha = d_->repo().remove_and_commit("HEALTHY_AFTER", "fast after the crash");
  ASSERT_EQ(git("push -q origin HEAD:main").rc, 0);
  start_watcher();
  EXPECT_TRUE(serves(sha, 90)) << watcher_->out();
  EXPECT_NE(watcher_->out().find("reclaiming stale deploy lock"), std::string::npos)
      << watcher_->out();
  auto recs = records();
  ASSERT_GE(recs.size(), 2u);
  EXPECT_EQ(recs[0]["result"], "success");
  EXPECT_EQ(recs[1]["result"], "interrupted") << recs[1].dump();
  for (const auto& r : recs) EXPECT_NE(r["result"], "running") << r.dump();
}

// A remote that accepts connections and never answers: each poll fails at git_timeout with a
// clear error, and the polls go on.
TEST_F(WatcherTest, AHungGitRemoteFailsEachPollAndPollingGoesOn) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 64), 0);  // never accept(): the kernel completes handshakes, no reply
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  const std::string dir = work_dir() + "/hung";
  const int port = free_port();
  sh("mkdir -p " + shell_quote(dir));
  std::ofstream(dir + "/podlift.yml")
      << "service: hung\nservers: [127.0.0.1]\nwatch:\n  repo: http://user:hunter2-token@127.0.0.1:"
      << ntohs(a.sin_port)
      << "/app.git\n  poll_interval: 1s\n  git_timeout: 2s\n  state_dir: " << dir
      << "/state\n  listen: 127.0.0.1:" << port << "\n";
  Background hung(dir, "watch");
  sleep_ms(7500);
  Exec metrics = run({"curl", "-s", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  ::kill(hung.pid(), SIGTERM);
  EXPECT_EQ(hung.wait(20), 0) << hung.out();
  ::close(fd);
  std::printf("%s", hung.out().c_str());
  EXPECT_NE(hung.out().find("no answer within 2s"), std::string::npos) << hung.out();
  EXPECT_EQ(hung.out().find("hunter2-token"), std::string::npos) << "a token leaked";
  EXPECT_EQ(metrics.out.find("hunter2-token"), std::string::npos);
  auto count = [&](const std::string& name) {
    auto at = metrics.out.find(name + "{service=\"hung\"} ");
    return at == std::string::npos
               ? -1
               : std::atoi(metrics.out.c_str() + metrics.out.find("} ", at) + 2);
  };
  EXPECT_GE(count("podlift_poll_failures_total"), 2) << metrics.out;
  // Every poll failed (one may still be under way when the metrics were read).
  EXPECT_GE(count("podlift_poll_failures_total"), count("podlift_polls_total") - 1) << metrics.out;
}

// systemd's notify protocol, checked on a socket of our own as systemd would provide it.
TEST_F(WatcherTest, UnderSystemdItSaysReadyPingsTheWatchdogAndSaysStopping) {
  const std::string dir = work_dir() + "/notify";
  sh("mkdir -p " + shell_quote(dir) + " && git init -q --bare " + shell_quote(dir + "/empty.git"));
  std::ofstream(dir + "/podlift.yml")
      << "service: notified\nservers: [127.0.0.1]\nwatch:\n  repo: " << dir
      << "/empty.git\n  poll_interval: 1s\n  state_dir: " << dir << "/state\n  listen: off\n";
  const std::string path = dir + "/notify.sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << path;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  Background w(dir, "watch", "NOTIFY_SOCKET=" + shell_quote(path) + " WATCHDOG_USEC=1000000");
  std::string got;
  auto receive_until = [&](const std::string& what, int seconds) {
    for (int i = 0; i < seconds && got.find(what) == std::string::npos;) {
      char buf[512];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n)).append("\n");
      } else {
        ++i;
      }
    }
    return got.find(what) != std::string::npos;
  };
  EXPECT_TRUE(receive_until("READY=1", 10)) << got << w.out();
  EXPECT_NE(got.find("STATUS=watching " + dir + "/empty.git main"), std::string::npos) << got;
  EXPECT_TRUE(receive_until("WATCHDOG=1", 5)) << got;
  ::kill(w.pid(), SIGTERM);
  EXPECT_TRUE(receive_until("STOPPING=1", 10)) << got;
  EXPECT_EQ(w.wait(20), 0) << w.out();
  EXPECT_NE(w.out().find("branch main does not exist"), std::string::npos) << w.out();
  ::close(fd);
}

}  // namespace
}  // namespace podlift::e2e
