// Small file operations on a server, over a RemoteExecutor. Contents travel on stdin, never on
// a command line (ps on the server must not show secrets).
#pragma once

#include <optional>
#include <string>

#include "deployer/remote.hpp"

namespace podlift {

// Writes content to path atomically (temp file in the same directory, then rename), creating the
// directory if needed. mode is an octal string such as "600" or "644".
void write_remote_file(RemoteExecutor& remote, const std::string& path, const std::string& content,
                       const std::string& mode);
// The file's content, or nullopt if it does not exist.
std::optional<std::string> read_remote_file(RemoteExecutor& remote, const std::string& path);
void remove_remote_file(RemoteExecutor& remote, const std::string& path);

}  // namespace podlift
