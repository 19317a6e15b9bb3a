// Webhook providers' rules (signatures over raw bytes, events, refs), the server's handlers
// without a socket (duplicates, metrics, status page) and signature primitives.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "fake_clock.hpp"
#include "fake_watcher.hpp"
#include "webhooks/providers.hpp"
#include "webhooks/server.hpp"
#include "webhooks/signature.hpp"

namespace podlift::webhooks {
namespace {

namespace fs = std::filesystem;
const std::string kSecret = "It's a Secret to Everybody";

Delivery delivery(const std::string& provider, std::map<std::string, std::string> headers,
                  const std::string& body) {
  return {provider, std::move(headers), body};
}

std::string sha256_header(const std::string& body) {
  return "sha256=" + hmac_sha256_hex(kSecret, body);
}

TEST(Signature, GitHubsPublishedTestVector) {
  // docs.github.com, "Validating webhook deliveries": this secret and payload give this digest.
  EXPECT_EQ(hmac_sha256_hex(kSecret, "Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  Verdict v = judge(delivery("github",
                             {{"x-hub-signature-256",
                               "sha256=757107ea0eb2509fc211221cce984b8a37570"
                               "b6d7586c22c46f4379c8b043e17"},
                              {"x-github-event", "ping"}},
                             "Hello, World!"),
                    kSecret, "main");
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(v.reason, "ping");
}

TEST(Signature, ConstantTimeEqualComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(hmac_matches(kSecret, "x", hmac_sha256_hex(kSecret, "x")));
  std::string upper = hmac_sha256_hex(kSecret, "x");
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(hmac_matches(kSecret, "x", upper)) << "hex case does not matter";
}

const std::string kPush = R"({"ref":"refs/heads/main","after":"0123","deleted":false})";

TEST(GitHub, SignedPushToTheBranchIsAccepted) {
  Verdict v = judge(delivery("github",
                             {{"x-hub-signature-256", sha256_header(kPush)},
                              {"x-github-event", "push"},
                              {"x-github-delivery", "d-1"},
                              {"content-type", "application/json"}},
                             kPush),
                    kSecret, "main");
  EXPECT_EQ(v.status, 202) << v.reason;
  EXPECT_EQ(v.result, "accepted");
  EXPECT_EQ(v.delivery_id, "d-1");
}

TEST(GitHub, FormEncodedPayloadIsSignedOverTheRawForm) {
  std::string form = "payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D";
  Verdict v = judge(delivery("github",
                             {{"x-hub-signature-256", sha256_header(form)},
                              {"x-github-event", "push"},
                              {"content-type", "application/x-www-form-urlencoded"}},
                             form),
                    kSecret, "main");
  EXPECT_EQ(v.status, 202) << v.reason;
}

TEST(GitHub, BadMissingOrUnconfiguredSignaturesAre401) {
  std::map<std::string, std::string> h = {{"x-github-event", "push"}};
  EXPECT_EQ(judge(delivery("github", h, kPush), kSecret, "main").status, 401);
  h["x-hub-signature-256"] = sha256_header(kPush + " ");
  EXPECT_EQ(judge(delivery("github", h, kPush), kSecret, "main").status, 401);
  h["x-hub-signature-256"] = "sha1=" + hmac_sha256_hex(kSecret, kPush);
  EXPECT_EQ(judge(delivery("github", h, kPush), kSecret, "main").status, 401);
  h["x-hub-signature-256"] = sha256_header(kPush);
  EXPECT_EQ(judge(delivery("github", h, kPush), "", "main").status, 401);
  EXPECT_EQ(judge(delivery("github", h, kPush), "other secret", "main").status, 401);
}

TEST(GitHub, TagsOtherBranchesAndOtherEventsAreIgnored) {
  auto judge_ref = [](const std::string& ref) {
    std::string body = R"({"ref":")" + ref + R"("})";
    return judge(
        delivery("github",
                 {{"x-hub-signature-256", sha256_header(body)}, {"x-github-event", "push"}}, body),
        kSecret, "env/prod");
  };
  EXPECT_EQ(judge_ref("refs/heads/env/prod").status, 202);
  EXPECT_EQ(judge_ref("refs/tags/env/prod").status, 200) << "a tag named like the branch";
  EXPECT_EQ(judge_ref("refs/heads/env/prod2").status, 200);
  EXPECT_EQ(judge_ref("refs/heads/prod").status, 200);
  Verdict issue = judge(
      delivery("github",
               {{"x-hub-signature-256", sha256_header("{}")}, {"x-github-event", "issues"}}, "{}"),
      kSecret, "main");
  EXPECT_EQ(issue.status, 200);
  EXPECT_EQ(issue.result, "ignored");
}

TEST(GitHub, MalformedPayloadsAre400) {
  for (std::string body : {"not json", "[]", R"({"after":"x"})", R"({"ref":7})"}) {
    Verdict v = judge(
        delivery("github",
                 {{"x-hub-signature-256", sha256_header(body)}, {"x-github-event", "push"}}, body),
        kSecret, "main");
    EXPECT_EQ(v.status, 400) << body;
  }
}

TEST(GitLab, TokenHeaderAndPushHook) {
  std::map<std::string, std::string> h = {
      {"x-gitlab-token", kSecret}, {"x-gitlab-event", "Push Hook"}, {"x-gitlab-event-uuid", "u-1"}};
  Verdict v = judge(delivery("gitlab", h, kPush), kSecret, "main");
  EXPECT_EQ(v.status, 202) << v.reason;
  EXPECT_EQ(v.delivery_id, "u-1");
  h["x-gitlab-event"] = "Tag Push Hook";
  EXPECT_EQ(judge(delivery("gitlab", h, kPush), kSecret, "main").status, 200);
  h["x-gitlab-token"] = "wrong";
  EXPECT_EQ(judge(delivery("gitlab", h, kPush), kSecret, "main").status, 401);
}

TEST(Gitea, BareHexSignatureAndFormsSignedOverTheInnerJson) {
  Verdict json = judge(
      delivery("gitea",
               {{"x-gitea-signature", hmac_sha256_hex(kSecret, kPush)}, {"x-gitea-event", "push"}},
               kPush),
      kSecret, "main");
  EXPECT_EQ(json.status, 202) << json.reason;
  std::string inner = R"({"ref":"refs/heads/main"})";
  std::string form = "payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D";
  Verdict f = judge(delivery("gitea",
                             {{"x-forgejo-signature", hmac_sha256_hex(kSecret, inner)},
                              {"x-forgejo-event", "push"},
                              {"content-type", "application/x-www-form-urlencoded"}},
                             form),
                    kSecret, "main");
  EXPECT_EQ(f.status, 202) << f.reason;
  Verdict wrong = judge(delivery("gitea",
                                 {{"x-gitea-signature", hmac_sha256_hex(kSecret, form)},
                                  {"x-gitea-event", "push"},
                                  {"content-type", "application/x-www-form-urlencoded"}},
                                 form),
                        kSecret, "main");
  EXPECT_EQ(wrong.status, 401) << "a form's signature covers the JSON inside it";
}

TEST(Bitbucket, PushChangesNameTheBranch) {
  std::string body =
      R"({"push":{"changes":[{"new":{"type":"branch","name":"main","target":{"hash":"ab"}},"old":null}]}})";
  std::map<std::string, std::string> h = {{"x-hub-signature", sha256_header(body)},
                                          {"x-event-key", "repo:push"},
                                          {"x-request-uuid", "r-1"}};
  Verdict v = judge(delivery("bitbucket", h, body), kSecret, "main");
  EXPECT_EQ(v.status, 202) << v.reason;
  EXPECT_EQ(v.delivery_id, "r-1");
  std::string deleted =
      R"({"push":{"changes":[{"new":null,"old":{"type":"branch","name":"main"}}]}})";
  h["x-hub-signature"] = sha256_header(deleted);
  EXPECT_EQ(judge(delivery("bitbucket", h, deleted), kSecret, "main").status, 202)
      << "a deleted branch is worth a look too";
  std::string tag = R"({"push":{"changes":[{"new":{"type":"tag","name":"main"}}]}})";
  h["x-hub-signature"] = sha256_header(tag);
  EXPECT_EQ(judge(delivery("bitbucket", h, tag), kSecret, "main").status, 200);
}

TEST(Generic, HmacOrBearerWithAnOptionalBranch) {
  Verdict empty =
      judge(delivery("generic", {{"authorization", "Bearer " + kSecret}}, ""), kSecret, "main");
  EXPECT_EQ(empty.status, 202);
  std::string body = R"({"branch":"main"})";
  EXPECT_EQ(
      judge(delivery("generic", {{"x-signature", sha256_header(body)}}, body), kSecret, "main")
          .status,
      202);
  std::string other = R"({"branch":"dev"})";
  EXPECT_EQ(
      judge(delivery("generic", {{"x-signature", sha256_header(other)}}, other), kSecret, "main")
          .status,
      200);
  EXPECT_EQ(
      judge(delivery("generic", {{"authorization", "Bearer nope"}}, ""), kSecret, "main").status,
      401);
  EXPECT_EQ(judge(delivery("generic", {}, ""), kSecret, "main").status, 401);
  EXPECT_EQ(judge(delivery("nope", {}, ""), kSecret, "main").status, 404);
}

TEST(Form, FieldsArePercentDecoded) {
  EXPECT_EQ(form_field("a=1&payload=%7B%22x%22%3A+1%7D&b=2", "payload"), R"({"x": 1})");
  EXPECT_EQ(form_field("a=1", "payload"), "");
  EXPECT_EQ(form_field("payload", "payload"), "");
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest()
      : dir_(make_dir()),
        store_(dir_ + "/hello"),
        w_({"hello", "main", std::chrono::seconds(30), 3}, git_, runner_, store_, clock_),
        server_(w_, store_, {"127.0.0.1:0", kSecret, "main", "hello"}) {}
  ~ServerTest() override { fs::remove_all(dir_); }
  static std::string make_dir() {
    std::string t = (fs::temp_directory_path() / "podlift-server.XXXXXX").string();
    return mkdtemp(t.data());
  }
  HookAnswer push(const std::string& delivery_id) {
    return server_.hook(delivery("github",
                                 {{"x-hub-signature-256", sha256_header(kPush)},
                                  {"x-github-event", "push"},
                                  {"x-github-delivery", delivery_id}},
                                 kPush));
  }
  std::string dir_;
  FakeClock clock_;
  watcher::FakeGitSource git_;
  watcher::FakeDeployRunner runner_;
  watcher::StateStore store_;
  watcher::Watcher w_;
  Server server_;
};

TEST_F(ServerTest, ADuplicateDeliveryIsIgnoredAndAnAcceptedOneTriggersALook) {
  HookAnswer first = push("d-7");
  EXPECT_EQ(first.status, 202) << first.body;
  EXPECT_TRUE(w_.snapshot().trigger_pending);
  HookAnswer again = push("d-7");
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("duplicate delivery d-7"), std::string::npos) << again.body;
  EXPECT_EQ(push("d-8").status, 202);
}

TEST_F(ServerTest, MetricsHaveEveryFamilyAndCountWebhooksByResult) {
  push("d-1");
  server_.hook(delivery("gitlab", {{"x-gitlab-token", "bad"}}, "{}"));
  std::string m = server_.metrics_text();
  for (const char* family :
       {"podlift_deploys_total", "podlift_deploy_duration_seconds_bucket", "podlift_polls_total",
        "podlift_poll_failures_total", "podlift_webhook_requests_total",
        "podlift_last_deploy_timestamp_seconds", "podlift_pending_triggers"}) {
    EXPECT_NE(m.find(family), std::string::npos) << family;
  }
  EXPECT_NE(
      m.find(
          R"(podlift_webhook_requests_total{service="hello",provider="github",result="accepted"} 1)"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(provider="gitlab",result="rejected"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("podlift_pending_triggers{service=\"hello\"} 1"), std::string::npos) << m;
}

TEST_F(ServerTest, StatusPageShowsDeploysAndEscapesText) {
  git_.branch_tip = std::string(40, 'a');
  w_.poll_once();
  git_.branch_tip = std::string(40, 'b');
  runner_.outcomes = {watcher::DeployOutcome::Kind::kFailure};
  w_.trigger("<script>");
  w_.poll_once();
  std::string page = server_.status_html();
  EXPECT_NE(page.find("aaaaaaaaaaaa"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("class=\"failure\""), std::string::npos);
  std::string json = server_.status_json();
  EXPECT_NE(json.find("\"deployed_tip\""), std::string::npos);
}

}  // namespace
}  // namespace podlift::webhooks
