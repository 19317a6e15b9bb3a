// Small text helpers shared by every component.
#pragma once

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace podlift {

// s without trailing whitespace (newlines from command output, mostly).
inline std::string trim_right(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// A leading "~" or "~/" replaced by $HOME (paths in podlift.yml: keys, known_hosts).
inline std::string expand_home(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    if (home != nullptr && *home != '\0') return std::string(home) + path.substr(1);
  }
  return path;
}

// "512 B", "12.3 KiB", "45.6 MiB", "1.2 GiB".
inline std::string format_bytes(std::uint64_t b) {
  char buf[32];
  const double v = static_cast<double>(b);
  if (b >= (1ull << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", v / (1024.0 * 1024.0 * 1024.0));
  } else if (b >= (1ull << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", v / (1024.0 * 1024.0));
  } else if (b >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", v / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  }
  return buf;
}

// Milliseconds as seconds with `decimals` places: "1.25s".
inline std::string format_seconds(long long ms, int decimals = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*fs", decimals, static_cast<double>(ms) / 1000.0);
  return buf;
}

// Epoch milliseconds as UTC, "2026-12-03T22:46:55Z" (`sep` between date and time); "-" for 0.
inline std::string format_utc(long long epoch_ms, char sep = 'T') {
  if (epoch_ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const char fmt[] = {'%', 'Y', '-', '%', 'm', '-', '%', 'd', sep, '%',
                      'H', ':', '%', 'M', ':', '%', 'S', 'Z', '\0'};
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

}  // namespace podlift
