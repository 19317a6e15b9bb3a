#include "core/redact.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace podlift {

namespace {
std::mutex g_mu;
std::vector<std::string> g_secrets;

// syslog priorities for journald: with stderr connected to the journal (JOURNAL_STREAM set, as
// systemd does for services), a "<N>" line prefix sets the entry's priority.
int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;
  }
}

class RedactingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  RedactingSink() : journal_(std::getenv("JOURNAL_STREAM") != nullptr) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text = redact(std::string_view(msg.payload.data(), msg.payload.size()));
    std::string level(spdlog::level::to_string_view(msg.level).data(),
                      spdlog::level::to_string_view(msg.level).size());
    // One entry per line: a multi-line message keeps its priority on every line.
    std::string prefix = journal_ ? "<" + std::to_string(syslog_priority(msg.level)) + ">" : "";
    size_t start = 0;
    bool first = true;
    do {
      size_t nl = text.find('\n', start);
      std::string line = text.substr(start, nl == std::string::npos ? nl : nl - start);
      std::fprintf(stderr, "%spodlift: %s: %s\n", prefix.c_str(), level.c_str(),
                   first ? line.c_str() : ("  " + line).c_str());
      first = false;
      start = nl == std::string::npos ? nl : nl + 1;
    } while (start != std::string::npos && start < text.size());
  }
  void flush_() override { std::fflush(stderr); }

 private:
  bool journal_;
};
}  // namespace

void register_secret(std::string_view value) {
  if (value.size() < 4) return;
  std::lock_guard lock(g_mu);
  if (std::find(g_secrets.begin(), g_secrets.end(), value) == g_secrets.end()) {
    g_secrets.emplace_back(value);
    // Longest first, so a secret containing another is hidden whole.
    std::sort(g_secrets.begin(), g_secrets.end(),
              [](const auto& a, const auto& b) { return a.size() > b.size(); });
  }
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::lock_guard lock(g_mu);
  for (const auto& s : g_secrets) {
    for (size_t pos = out.find(s); pos != std::string::npos; pos = out.find(s, pos)) {
      out.replace(pos, s.size(), "[redacted]");
      pos += 10;
    }
  }
  return out;
}

void clear_secrets() {
  std::lock_guard lock(g_mu);
  g_secrets.clear();
}

void setup_logging(bool verbose) {
  auto logger = std::make_shared<spdlog::logger>("podlift", std::make_shared<RedactingSink>());
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace podlift
