#include "webhooks/providers.hpp"

#include <nlohmann/json.hpp>

#include "webhooks/signature.hpp"

namespace podlift::webhooks {

namespace {

using json = nlohmann::json;

Verdict answer(int status, const char* result, std::string reason) {
  Verdict v;
  v.status = status;
  v.result = result;
  v.reason = std::move(reason);
  return v;
}
Verdict unauthorized(std::string why) {
  return answer(401, "rejected", std::move(why));
}
Verdict malformed(std::string why) {
  return answer(400, "rejected", std::move(why));
}
Verdict ignored(std::string why) {
  return answer(200, "ignored", std::move(why));
}

std::string header(const Delivery& d, const std::string& name) {
  auto it = d.headers.find(name);
  return it == d.headers.end() ? "" : it->second;
}

bool is_form(const Delivery& d) {
  return header(d, "content-type").rfind("application/x-www-form-urlencoded", 0) == 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "sha256=<hex>" checked against the body.
bool prefixed_hmac_ok(const std::string& value, const std::string& secret,
                      const std::string& data) {
  const std::string prefix = "sha256=";
  if (value.rfind(prefix, 0) != 0) return false;
  return hmac_matches(secret, data, std::string_view(value).substr(prefix.size()));
}

// The JSON of the payload (the body, or its form field `payload`); nullopt when malformed.
std::optional<json> payload(const Delivery& d, std::string& why) {
  std::string text = is_form(d) ? form_field(d.body, "payload") : d.body;
  if (is_form(d) && text.empty()) {
    why = "form-encoded delivery without a \"payload\" field";
    return std::nullopt;
  }
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    why = "the payload is not a JSON object";
    return std::nullopt;
  }
  return j;
}

// What a pushed ref means for `branch`: accepted, or ignored with a reason.
Verdict for_ref(const std::string& ref, const std::string& branch) {
  if (ref == "refs/heads/" + branch) return answer(202, "accepted", "push to " + branch);
  if (ref.rfind("refs/tags/", 0) == 0) return ignored("tag " + ref.substr(10) + " is not a branch");
  if (ref.rfind("refs/heads/", 0) == 0) {
    return ignored("branch " + ref.substr(11) + " is not the watched branch " + branch);
  }
  return ignored("ref " + ref + " is not the watched branch " + branch);
}

// A push payload with a top-level "ref" (GitHub, GitLab, Gitea/Forgejo), judged by for_ref.
Verdict for_payload_ref(const Delivery& d, const std::string& branch) {
  std::string why;
  auto j = payload(d, why);
  if (!j) return malformed(why);
  if (!j->contains("ref") || !(*j)["ref"].is_string()) return malformed("push without \"ref\"");
  return for_ref((*j)["ref"], branch);
}

Verdict github(const Delivery& d, const std::string& secret, const std::string& branch) {
  std::string sig = header(d, "x-hub-signature-256");
  if (sig.empty()) return unauthorized("missing X-Hub-Signature-256 header");
  if (!prefixed_hmac_ok(sig, secret, d.body)) return unauthorized("X-Hub-Signature-256 mismatch");
  std::string event = header(d, "x-github-event");
  if (event == "ping") return ignored("ping");
  if (event != "push") {
    return event.empty() ? malformed("missing X-GitHub-Event header")
                         : ignored("event \"" + event + "\" is not a push");
  }
  return for_payload_ref(d, branch);
}

Verdict gitlab(const Delivery& d, const std::string& secret, const std::string& branch) {
  std::string token = header(d, "x-gitlab-token");
  if (token.empty()) return unauthorized("missing X-Gitlab-Token header");
  if (!constant_time_equal(token, secret)) return unauthorized("X-Gitlab-Token mismatch");
  std::string event = header(d, "x-gitlab-event");
  if (event == "Tag Push Hook") return ignored("tag push");
  if (event != "Push Hook") {
    return event.empty() ? malformed("missing X-Gitlab-Event header")
                         : ignored("event \"" + event + "\" is not a push");
  }
  return for_payload_ref(d, branch);
}

Verdict gitea(const Delivery& d, const std::string& secret, const std::string& branch) {
  std::string sig = header(d, "x-gitea-signature");
  if (sig.empty()) sig = header(d, "x-forgejo-signature");
  if (sig.empty()) return unauthorized("missing X-Gitea-Signature (or X-Forgejo-Signature) header");
  // Form deliveries are signed over the JSON inside the form, not the form itself.
  std::string signed_text = is_form(d) ? form_field(d.body, "payload") : d.body;
  if (!hmac_matches(secret, signed_text, sig)) return unauthorized("signature mismatch");
  std::string event = header(d, "x-gitea-event");
  if (event.empty()) event = header(d, "x-forgejo-event");
  if (event != "push") {
    return event.empty() ? malformed("missing X-Gitea-Event header")
                         : ignored("event \"" + event + "\" is not a push");
  }
  return for_payload_ref(d, branch);
}

Verdict bitbucket(const Delivery& d, const std::string& secret, const std::string& branch) {
  std::string sig = header(d, "x-hub-signature");
  if (sig.empty()) return unauthorized("missing X-Hub-Signature header");
  if (!prefixed_hmac_ok(sig, secret, d.body)) return unauthorized("X-Hub-Signature mismatch");
  std::string event = header(d, "x-event-key");
  if (event == "diagnostics:ping") return ignored("ping");
  if (event != "repo:push") {
    return event.empty() ? malformed("missing X-Event-Key header")
                         : ignored("event \"" + event + "\" is not a push");
  }
  std::string why;
  auto j = payload(d, why);
  if (!j) return malformed(why);
  const json* changes = nullptr;
  if (j->contains("push") && (*j)["push"].is_object() && (*j)["push"].contains("changes"))
    changes = &(*j)["push"]["changes"];
  if (!changes || !changes->is_array()) return malformed("push without \"push.changes\"");
  // A change names the branch in "new" (pushed) or only in "old" (deleted).
  bool tag = false;
  for (const auto& c : *changes) {
    for (const char* side : {"new", "old"}) {
      if (!c.is_object() || !c.contains(side) || !c[side].is_object()) continue;
      const json& ref = c[side];
      std::string type = ref.value("type", "");
      std::string name = ref.value("name", "");
      if (type == "branch" && name == branch) return answer(202, "accepted", "push to " + branch);
      if (type == "tag") tag = true;
    }
  }
  return ignored(tag ? "tag push" : "no change to the watched branch " + branch);
}

Verdict generic(const Delivery& d, const std::string& secret, const std::string& branch) {
  std::string sig = header(d, "x-signature");
  std::string auth = header(d, "authorization");
  if (!sig.empty()) {
    if (!prefixed_hmac_ok(sig, secret, d.body)) return unauthorized("X-Signature mismatch");
  } else if (auth.rfind("Bearer ", 0) == 0) {
    if (!constant_time_equal(auth.substr(7), secret)) return unauthorized("bearer token mismatch");
  } else {
    return unauthorized("missing X-Signature header or Authorization: Bearer token");
  }
  if (d.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return answer(202, "accepted", "look at " + branch);
  }
  json j = json::parse(d.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return malformed("the body is not a JSON object");
  if (j.contains("ref")) {
    if (!j["ref"].is_string()) return malformed("\"ref\" is not a string");
    return for_ref(j["ref"], branch);
  }
  if (j.contains("branch")) {
    if (!j["branch"].is_string()) return malformed("\"branch\" is not a string");
    return for_ref("refs/heads/" + j["branch"].get<std::string>(), branch);
  }
  return answer(202, "accepted", "look at " + branch);
}

std::string delivery_id(const Delivery& d) {
  for (const char* h :
       {"x-github-delivery", "x-gitlab-event-uuid", "idempotency-key", "x-gitea-delivery",
        "x-forgejo-delivery", "x-request-uuid", "x-delivery-id"}) {
    std::string v = header(d, h);
    if (!v.empty()) return v;
  }
  return "";
}

}  // namespace

const std::vector<std::string>& provider_names() {
  static const std::vector<std::string> names = {"github", "gitlab", "gitea", "bitbucket",
                                                 "generic"};
  return names;
}

std::string form_field(const std::string& body, const std::string& field) {
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    if (amp == std::string::npos) amp = body.size();
    std::string_view pair(body.data() + start, amp - start);
    size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == field) {
      return eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    start = amp + 1;
  }
  return "";
}

Verdict judge(const Delivery& d, const std::string& secret, const std::string& branch) {
  if (secret.empty()) {
    return unauthorized("no webhook secret is configured on the watcher (watch.webhook_secret)");
  }
  Verdict v;
  if (d.provider == "github") {
    v = github(d, secret, branch);
  } else if (d.provider == "gitlab") {
    v = gitlab(d, secret, branch);
  } else if (d.provider == "gitea") {
    v = gitea(d, secret, branch);
  } else if (d.provider == "bitbucket") {
    v = bitbucket(d, secret, branch);
  } else if (d.provider == "generic") {
    v = generic(d, secret, branch);
  } else {
    return answer(404, "rejected", "unknown provider \"" + d.provider + "\"");
  }
  if (v.status != 401) v.delivery_id = delivery_id(d);
  return v;
}

}  // namespace podlift::webhooks
