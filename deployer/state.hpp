// What a server records about a service, next to its env files in /var/lib/podlift/<service>/:
// live.json names the container nginx should route to (written after each successful switch).
#pragma once

#include <optional>
#include <string>

#include "deployer/remote.hpp"

namespace podlift {

struct LiveRecord {
  std::string container;
  std::string version_id;
  int port = 0;
};

std::string live_record_path(const std::string& service);
std::optional<LiveRecord> read_live(RemoteExecutor& remote, const std::string& service);
void write_live(RemoteExecutor& remote, const std::string& service, const LiveRecord& live);

}  // namespace podlift
