// SSH sessions over libssh. One SshExecutor is one authenticated connection to one host; each
// run() opens a channel on it, so a deploy uses one connection per host for all its commands.
// Sessions are not shared between threads; a multi-server rollout gives each host its own.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "deployer/remote.hpp"

namespace podlift {

struct SshTarget {
  std::string host;
  int port = 22;
  std::string user = "root";
  std::string identity_file;  // empty: try ssh-agent, then the default ~/.ssh/id_* keys
  std::string known_hosts;    // path (a leading ~/ is expanded); must exist and hold the key
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds command_timeout{300000};
};

// Connects, verifies the host key against known_hosts (plain and hashed entries) and
// authenticates. Throws UnreachableError with a message that names the host and how to fix it:
//  - connection refused / timed out / DNS failure;
//  - host key unknown ("add it with: ssh-keyscan -p PORT HOST >> FILE", after verifying it);
//  - host key mismatch ("remove the old key with: ssh-keygen -R '[HOST]:PORT' -f FILE");
//  - authentication failure (which methods were tried).
std::unique_ptr<RemoteExecutor> ssh_connect(const SshTarget& target);

}  // namespace podlift
