// Small text helpers shared by every component.
#pragma once

#include <cctype>
#include <string>

namespace podlift {

// s without trailing whitespace (newlines from command output, mostly).
inline std::string trim_right(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace podlift
