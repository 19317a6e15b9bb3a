// Host key checks for ssh:// git remotes against an OpenSSH known_hosts file (plain and hashed
// "|1|salt|hash" host entries, "[host]:port" for ports other than 22). libgit2 1.5 hands us the
// server's key and leaves the decision to us.
#pragma once

#include <string>
#include <string_view>

namespace podlift::watcher {

enum class HostKeyStatus { kMatch, kMismatch, kUnknown };

// Looks `host`:`port` up in known_hosts text and compares its keys of `key_type` (e.g.
// "ssh-ed25519") with `key_blob` (the raw public key, as in the base64 field). kMismatch when the
// host is listed with a key of that type but none matches; kUnknown when it is not listed.
HostKeyStatus check_host_key(std::string_view known_hosts, const std::string& host, int port,
                             const std::string& key_type, std::string_view key_blob);

// The name a host has in known_hosts: "host" for port 22, "[host]:port" otherwise.
std::string known_hosts_name(const std::string& host, int port);

}  // namespace podlift::watcher
