#include "watcher/watcher.hpp"

#include <git2.h>

#include <string>

namespace podlift::watcher {
const char* libgit2_version() {
  static const std::string v = [] {
    int major = 0, minor = 0, rev = 0;
    git_libgit2_version(&major, &minor, &rev);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(rev);
  }();
  return v.c_str();
}
}  // namespace podlift::watcher
