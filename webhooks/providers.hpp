// What a webhook delivery means, per provider. Pure functions over the raw request, so every
// provider's rules are unit-tested without a server.
//
// Order of checks: the signature first, over the raw body bytes, compared in constant time
// (401 when missing or wrong, or when no secret is configured); then the payload (400 when
// malformed); then the event (200 "ignored" for ping, tags, other branches and other events);
// otherwise 202 "accepted". Accepted only means "look at the branch now": the watcher deploys
// the tip it fetches, never a SHA from the payload.
//
//   github     X-Hub-Signature-256: sha256=<hex>; JSON or form (payload=<JSON>); X-GitHub-Event
//   gitlab     X-Gitlab-Token: <secret>; X-Gitlab-Event: Push Hook
//   gitea      X-Gitea-Signature or X-Forgejo-Signature: <hex> (form: over the inner JSON)
//   bitbucket  X-Hub-Signature: sha256=<hex>; X-Event-Key: repo:push
//   generic    X-Signature: sha256=<hex>, or Authorization: Bearer <secret>; optional JSON body
//              {"ref": "refs/heads/<branch>"} or {"branch": "<branch>"}
#pragma once

#include <map>
#include <string>
#include <vector>

namespace podlift::webhooks {

struct Delivery {
  std::string provider;                        // github, gitlab, gitea, bitbucket, generic
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // raw bytes, as signed
};

struct Verdict {
  int status = 400;
  std::string result;       // accepted, ignored, rejected
  std::string reason;       // for the JSON answer and the log
  std::string delivery_id;  // the provider's delivery id ("" when it sends none)
};

const std::vector<std::string>& provider_names();

// See the header comment. `branch` is the watched branch ("main", "env/prod").
Verdict judge(const Delivery& delivery, const std::string& secret, const std::string& branch);

// Decodes application/x-www-form-urlencoded text and returns the value of `field` ("" if absent).
std::string form_field(const std::string& body, const std::string& field);

}  // namespace podlift::webhooks
