// The watcher's HTTP side (cpp-httplib): webhook endpoints POST /hooks/<provider>, GET /healthz,
// GET /metrics (Prometheus text), GET / (status page, refreshes itself) and GET /status.json.
//
// Requests fail as responses, never as crashes: every answer to a webhook is JSON
// {"result": accepted|ignored|rejected, "reason": "..."} with 202, 200, 400, 401, 404, 405 or 413.
// Webhook handling only verifies and calls Watcher::trigger(); it never waits for a deploy, so a
// flood of requests (good or bad) costs HMAC checks on the server's threads, not deploy time.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "watcher/state.hpp"
#include "watcher/watcher.hpp"
#include "webhooks/providers.hpp"

namespace httplib {
class Server;
}

namespace podlift::webhooks {

struct ServerSettings {
  std::string listen = "127.0.0.1:9292";  // HOST:PORT; port 0 picks a free one (tests)
  std::string secret;                     // signs webhooks; empty: every webhook gets 401
  std::string branch;
  std::string service;
  size_t max_body = 5u << 20;  // larger bodies get 413
  int threads = 8;
};

struct HookAnswer {
  int status = 200;
  std::string body;  // JSON
};

class Server {
 public:
  Server(watcher::Watcher& watcher, watcher::StateStore& store, ServerSettings settings);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves on a background thread. Throws Error naming the address when it cannot bind.
  void start();
  void stop();
  int port() const { return port_; }
  // New secret/branch after a reload (the address stays until a restart).
  void reconfigure(const std::string& secret, const std::string& branch);

  // The handlers, callable without a socket (unit tests).
  HookAnswer hook(const Delivery& delivery);
  std::string metrics_text();
  std::string status_json();
  std::string status_html();

 private:
  bool seen_before(const std::string& delivery_id);  // records it

  watcher::Watcher& watcher_;
  watcher::StateStore& store_;
  ServerSettings settings_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  int listen_fd_ = -1;

  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, long long> requests_;  // (provider, result)
  std::deque<std::string> recent_ids_;  // the last kRememberIds delivery ids, oldest first
  std::set<std::string> recent_set_;
  long long rejected_logged_at_ = 0;  // rate-limits warnings about rejected requests
  long long rejected_unlogged_ = 0;
};

}  // namespace podlift::webhooks
