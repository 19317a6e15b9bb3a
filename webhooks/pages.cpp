// What the server shows: /metrics (Prometheus text format), /status.json and the status page.
// Everything here comes from the watcher's snapshot and state files; the repository URL is shown
// without credentials and every text passes the redactor.
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/redact.hpp"
#include "core/text.hpp"
#include "webhooks/server.hpp"

namespace podlift::webhooks {

namespace {

using json = nlohmann::json;

std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  std::ostringstream ss;
  ss.precision(15);
  ss << v;
  return ss.str();
}

std::string html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 12);
}

}  // namespace

std::string Server::metrics_text() {
  auto snap = watcher_.snapshot();
  const auto& m = snap.metrics;
  const std::string svc = "service=\"" + label(snap.settings.service) + "\"";
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  family("podlift_deploys_total", "counter", "Automatic deploys by result.");
  for (auto [result, n] : {std::pair{"success", m.deploys_success},
                           {"failure", m.deploys_failure},
                           {"locked", m.deploys_locked},
                           {"interrupted", m.deploys_interrupted}}) {
    out +=
        "podlift_deploys_total{" + svc + ",result=\"" + result + "\"} " + std::to_string(n) + "\n";
  }
  family("podlift_deploy_duration_seconds", "histogram",
         "Duration of automatic deploys, fetch to done.");
  for (size_t i = 0; i < std::size(watcher::WatcherMetrics::kBuckets); ++i) {
    out += "podlift_deploy_duration_seconds_bucket{" + svc + ",le=\"" +
           number(watcher::WatcherMetrics::kBuckets[i]) + "\"} " +
           std::to_string(m.bucket_counts[i]) + "\n";
  }
  out += "podlift_deploy_duration_seconds_bucket{" + svc + ",le=\"+Inf\"} " +
         std::to_string(m.duration_count) + "\n";
  out += "podlift_deploy_duration_seconds_sum{" + svc + "} " + number(m.duration_sum_s) + "\n";
  out += "podlift_deploy_duration_seconds_count{" + svc + "} " + std::to_string(m.duration_count) +
         "\n";
  family("podlift_polls_total", "counter", "Checks of the branch tip.");
  out += "podlift_polls_total{" + svc + "} " + std::to_string(m.polls) + "\n";
  family("podlift_poll_failures_total", "counter", "Checks of the branch tip that failed.");
  out += "podlift_poll_failures_total{" + svc + "} " + std::to_string(m.poll_failures) + "\n";
  family("podlift_webhook_requests_total", "counter", "Webhook requests by provider and result.");
  {
    std::lock_guard lock(mu_);
    for (const auto& provider : provider_names()) {
      for (const char* result : {"accepted", "ignored", "rejected"}) {
        auto it = requests_.find({provider, result});
        out += "podlift_webhook_requests_total{" + svc + ",provider=\"" + provider +
               "\",result=\"" + result + "\"} " +
               std::to_string(it == requests_.end() ? 0 : it->second) + "\n";
      }
    }
  }
  family("podlift_last_deploy_timestamp_seconds", "gauge",
         "Unix time the last automatic deploy ended (0: none since start).");
  out += "podlift_last_deploy_timestamp_seconds{" + svc + "} " +
         number(static_cast<double>(m.last_deploy_ms) / 1000.0) + "\n";
  family("podlift_pending_triggers", "gauge", "Triggers waiting for the next step (0 or 1).");
  out += "podlift_pending_triggers{" + svc + "} " + (snap.trigger_pending ? "1" : "0") + "\n";
  family("podlift_deploy_in_progress", "gauge", "1 while an automatic deploy runs.");
  out += "podlift_deploy_in_progress{" + svc + "} " + (snap.running ? "1" : "0") + "\n";
  return redact(out);
}

std::string Server::status_json() {
  auto snap = watcher_.snapshot();
  json j;
  j["service"] = snap.settings.service;
  j["branch"] = snap.settings.branch;
  j["source"] = snap.source;
  j["state"] = store_.load();
  j["running"] = snap.running ? json(*snap.running) : json(nullptr);
  auto history = store_.history();
  json recent = json::array();
  for (auto it = history.rbegin(); it != history.rend() && recent.size() < 20; ++it) {
    recent.push_back(*it);
  }
  j["history"] = recent;
  return redact(j.dump(1)) + "\n";
}

std::string Server::status_html() {
  auto snap = watcher_.snapshot();
  auto state = store_.load();
  auto history = store_.history();
  std::string o;
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  o += "<meta http-equiv=\"refresh\" content=\"5\">";
  o += "<title>podlift: " + html(snap.settings.service) + "</title>";
  o += "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
       "table{border-collapse:collapse;margin:.5em 0 1.5em}"
       "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
       "th{background:#f3f3f3}.success{color:#070}.failure,.interrupted{color:#b00}"
       ".locked{color:#a60}.running{color:#06c}code{font-size:13px}</style></head><body>\n";
  o += "<h1>podlift: <span id=\"service\">" + html(snap.settings.service) + "</span></h1>\n";
  o += "<table id=\"summary\">";
  o += "<tr><th>branch</th><td id=\"branch\">" + html(snap.settings.branch) + "</td></tr>";
  o += "<tr><th>source</th><td>" + html(snap.source) + "</td></tr>";
  std::string watching = state.paused
                             ? "paused by " + state.paused_by +
                                   (state.paused_note.empty() ? "" : ": " + state.paused_note)
                             : "watching";
  o += "<tr><th>watcher</th><td id=\"watching\">" + html(watching) + "</td></tr>";
  o += "<tr><th>branch tip</th><td id=\"tip\"><code>" +
       html(state.branch_missing ? "branch missing on the remote" : short_sha(state.last_seen)) +
       "</code></td></tr>";
  o += "<tr><th>last poll</th><td>" + html(format_utc(state.last_poll_ms, ' ')) +
       (state.last_poll_error.empty()
            ? ""
            : " <span class=\"failure\">" + html(state.last_poll_error) + "</span>") +
       "</td></tr>";
  o += "<tr><th>deployed tip</th><td id=\"deployed\"><code>" + html(short_sha(state.deployed_tip)) +
       "</code></td></tr>";
  if (!state.failed_sha.empty()) {
    o += "<tr><th>failing</th><td class=\"failure\"><code>" + html(short_sha(state.failed_sha)) +
         "</code> failed " + std::to_string(state.failed_attempts) + " time(s)</td></tr>";
  }
  o += "</table>\n<h2>Live per server</h2>\n<table id=\"live\"><tr><th>server</th><th>version</th>"
       "</tr>";
  for (const auto& [server, version] : state.live) {
    o += "<tr><td>" + html(server) + "</td><td><code>" + html(short_sha(version)) +
         "</code></td></tr>";
  }
  if (state.live.empty())
    o += "<tr><td colspan=\"2\">nothing deployed by this watcher yet</td></tr>";
  o += "</table>\n<h2>Now</h2>\n<p id=\"now\">";
  if (snap.running) {
    o += "<span class=\"running\">deploying <code>" + html(short_sha(snap.running->sha)) +
         "</code> (" + html(snap.running->trigger) + "): step <b id=\"step\">" +
         html(snap.running->step) + "</b> since " +
         html(format_utc(snap.running->started_ms, ' ')) + "</span>";
  } else {
    o += "idle";
  }
  o += "</p>\n<h2>Last deploys</h2>\n<table id=\"history\"><tr><th>#</th><th>started</th>"
       "<th>trigger</th><th>version</th><th>result</th><th>took</th><th>steps</th></tr>\n";
  int shown = 0;
  for (auto it = history.rbegin(); it != history.rend() && shown < 20; ++it, ++shown) {
    const auto& r = *it;
    std::string steps;
    for (const auto& s : r.steps)
      steps += (steps.empty() ? "" : ", ") + s.step + " " + format_seconds(s.ms, 1);
    o += "<tr class=\"deploy\"><td>" + std::to_string(r.id) + "</td><td>" +
         html(format_utc(r.started_ms, ' ')) + "</td><td>" + html(r.trigger) + "</td><td><code>" +
         html(short_sha(r.sha)) + "</code>" + (r.forced ? " (force-push)" : "") +
         "</td><td class=\"" + html(r.result) + "\">" + html(r.result) +
         (r.error.empty() ? "" : ": " + html(r.error)) + "</td><td>" +
         (r.ended_ms ? format_seconds(r.total_ms(), 1) : "-") + "</td><td>" + html(steps) +
         "</td></tr>\n";
  }
  o += "</table>\n</body></html>\n";
  return redact(o);
}

}  // namespace podlift::webhooks
