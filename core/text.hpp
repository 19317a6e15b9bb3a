// Small text helpers shared by every component.
#pragma once

#include <cctype>
#include <cstdlib>
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

}  // namespace podlift
