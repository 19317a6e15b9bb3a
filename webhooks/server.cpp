#include "webhooks/server.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>
#include <vector>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/redact.hpp"

namespace podlift::webhooks {

namespace {

using json = nlohmann::json;
constexpr size_t kRememberIds = 4096;

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void send_json(httplib::Response& res, int status, const std::string& result,
               const std::string& reason) {
  res.status = status;
  res.set_content(json{{"result", result}, {"reason", reason}}.dump() + "\n", "application/json");
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// cpp-httplib's task queue, with workers at a lower CPU priority (nice 10): whatever arrives on
// the HTTP side, a flood of bad webhooks included, yields the CPU to a deploy under way.
class LowPriorityPool : public httplib::TaskQueue {
 public:
  explicit LowPriorityPool(int n) {
    for (int i = 0; i < n; ++i) {
      workers_.emplace_back([this] {
        lower_priority();
        for (;;) {
          std::function<void()> fn;
          {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping, and nothing left to do
            fn = std::move(jobs_.front());
            jobs_.pop_front();
          }
          fn();
        }
      });
    }
  }
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  // Linux nice values are per thread.
  static void lower_priority() { setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

Server::Server(watcher::Watcher& watcher, watcher::StateStore& store, ServerSettings settings)
    : watcher_(watcher), store_(store), settings_(std::move(settings)) {}

Server::~Server() {
  stop();
}

void Server::reconfigure(const std::string& secret, const std::string& branch) {
  std::lock_guard lock(mu_);
  settings_.secret = secret;
  settings_.branch = branch;
}

bool Server::seen_before(const std::string& id) {
  // Caller holds mu_.
  if (id.empty()) return false;
  if (recent_set_.count(id)) return true;
  recent_set_.insert(id);
  recent_ids_.push_back(id);
  if (recent_ids_.size() > kRememberIds) {
    recent_set_.erase(recent_ids_.front());
    recent_ids_.pop_front();
  }
  return false;
}

HookAnswer Server::hook(const Delivery& delivery) {
  std::string secret, branch;
  {
    std::lock_guard lock(mu_);
    secret = settings_.secret;
    branch = settings_.branch;
  }
  Verdict v = judge(delivery, secret, branch);
  {
    std::lock_guard lock(mu_);
    // Checked and recorded at once, so the same delivery posted twice concurrently is accepted
    // once.
    if (v.status == 202 && seen_before(v.delivery_id)) {
      v.status = 200;
      v.result = "ignored";
      v.reason = "duplicate delivery " + v.delivery_id;
    }
    ++requests_[{delivery.provider, v.result}];
    if (v.status >= 400) {
      // A flood of bad requests must not flood the journal: one warning a second at most.
      long long t = now_ms();
      if (t - rejected_logged_at_ >= 1000) {
        spdlog::warn("webhook {} rejected ({}): {}{}", delivery.provider, v.status, v.reason,
                     rejected_unlogged_ ? " (+" + std::to_string(rejected_unlogged_) +
                                              " more rejected since the last warning)"
                                        : "");
        rejected_logged_at_ = t;
        rejected_unlogged_ = 0;
      } else {
        ++rejected_unlogged_;
      }
    }
  }
  if (v.status == 202) {
    spdlog::info("webhook {} accepted{}: {}", delivery.provider,
                 v.delivery_id.empty() ? "" : " (delivery " + v.delivery_id + ")", v.reason);
    watcher_.trigger("webhook " + delivery.provider);
  } else if (v.status < 400) {
    spdlog::info("webhook {} ignored: {}", delivery.provider, v.reason);
  }
  return {v.status, json{{"result", v.result}, {"reason", v.reason}}.dump() + "\n"};
}

void Server::start() {
  auto colon = settings_.listen.rfind(':');
  std::string host = settings_.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int want_port = std::atoi(settings_.listen.c_str() + colon + 1);

  http_ = std::make_unique<httplib::Server>();
  auto& h = *http_;
  const int threads = settings_.threads;
  h.new_task_queue = [threads] { return new LowPriorityPool(threads); };
  h.set_payload_max_length(settings_.max_body);
  h.set_read_timeout(5, 0);
  h.set_write_timeout(5, 0);
  // One request per connection: a provider posts once, and an idle keep-alive connection would
  // hold one of the few threads.
  h.set_keep_alive_max_count(1);
  h.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = sock;
  });

  // POST bodies are read through a content reader: cpp-httplib as packaged would otherwise parse
  // form bodies itself and refuse any over 8 KiB with 413, which large GitHub pushes exceed.
  h.Post(R"(/hooks/([^/]+))", [this](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
    Delivery d;
    d.provider = req.matches[1];
    for (const auto& [k, v] : req.headers) d.headers[lower(k)] = v;
    auto reject = [&](int status, const std::string& why) {
      {
        std::lock_guard lock(mu_);
        ++requests_[{d.provider, "rejected"}];
      }
      send_json(res, status, "rejected", why);
    };
    const std::string too_large = "body over " + std::to_string(settings_.max_body) + " bytes";
    if (req.has_header("Content-Length") &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) >
            settings_.max_body) {
      return reject(413, too_large);
    }
    bool too_big = false;
    bool read = reader([&](const char* data, size_t len) {
      if (d.body.size() + len > settings_.max_body) {
        too_big = true;
        return false;
      }
      d.body.append(data, len);
      return true;
    });
    if (too_big) return reject(413, too_large);
    if (!read) return reject(400, "the body could not be read");
    HookAnswer a = hook(d);
    res.status = a.status;
    res.set_content(a.body, "application/json");
  });
  auto not_post = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    send_json(res, 405, "rejected", "webhooks are POSTed");
  };
  h.Get(R"(/hooks/.*)", not_post);
  h.Put(R"(/hooks/.*)", not_post);
  h.Delete(R"(/hooks/.*)", not_post);
  h.Patch(R"(/hooks/.*)", not_post);
  h.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
  h.Get("/status.json", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_json(), "application/json");
  });
  h.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_html(), "text/html; charset=utf-8");
  });
  // Every other error (404, 413 from the length header, 400 from a broken request) as JSON.
  h.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const char* why = res.status == 404   ? "no such endpoint"
                      : res.status == 413 ? "body too large"
                                          : "bad request";
    send_json(res, res.status, "rejected", why);
  });
  h.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = redact(e.what());
        } catch (...) {
        }
        spdlog::error("HTTP handler failed: {}", what);
        send_json(res, 500, "rejected", what);
      });

  if (want_port == 0) {
    port_ = h.bind_to_any_port(host);
  } else {
    port_ = h.bind_to_port(host, want_port) ? want_port : -1;
  }
  if (port_ <= 0) {
    throw Error("cannot listen on " + settings_.listen +
                    " (in use, or not an address of this machine); set watch.listen",
                ExitCode::kConfig);
  }
  // cpp-httplib as packaged listens with a backlog of 5; a burst of deliveries would overflow it
  // and wait a second for SYN retransmits. listen() again on the bound socket raises it.
  if (listen_fd_ >= 0) ::listen(listen_fd_, 1024);
  thread_ = std::thread([this] {
    LowPriorityPool::lower_priority();  // the accepting thread, too
    http_->listen_after_bind();
  });
  spdlog::info("listening on {}:{} (webhooks, /healthz, /metrics, status page)", host, port_);
}

void Server::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
}

}  // namespace podlift::webhooks
