// Registry mode: the build box pushes the image to a registry and every server pulls it.
//
// The password is never on a command line, in a file that outlives the command, or in output:
// it reaches `docker login --password-stdin` on stdin, on the build box and over each SSH
// channel, and each login writes its credentials into a private, temporary docker config
// directory that is removed when the push or pull ends. A server therefore keeps no registry
// credentials. Without registry.username there is no login at all (public registries, or
// engines that are already logged in).
#pragma once

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "deployer/remote.hpp"

namespace podlift {

// The registry could not be reached (connection refused, DNS, timeout): a deploy may fall back
// to SSH mode. A refused login or a missing image is a plain Error.
class RegistryUnreachable : public Error {
 public:
  explicit RegistryUnreachable(const std::string& what) : Error(what) {}
};

// Whether docker's error text says the registry could not be reached at all.
bool registry_unreachable(const std::string& docker_error);

// The script a server runs to log in and pull with a private docker config: argv for
// `sh -c SCRIPT sh USER REGISTRY IMAGE`, password on stdin (empty user: no login).
std::vector<std::string> remote_pull_argv(const std::string& username, const std::string& server,
                                          const std::string& image);

class Registry {
 public:
  Registry(const Config& config, ProcessRunner& runner);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  const std::string& server() const { return server_; }
  // Resolves the password (secret or password_command) and logs in on the build box, so a
  // wrong password or an unreachable registry stops the deploy before anything changes on a
  // server. Throws RegistryUnreachable or Error.
  void login();
  // Pushes `image` (already tagged <server>/...). Throws RegistryUnreachable or Error.
  void push(const std::string& image);
  // Pulls `image` on a server (logging in there first). Throws RegistryUnreachable or Error,
  // naming the server.
  void pull(RemoteExecutor& remote, const std::string& image);
  // `podlift validate`: logs in on a server (after login()) with a throwaway docker config,
  // removed at once. Returns what it did; throws Error with docker's reason.
  std::string check_login(RemoteExecutor& remote);

 private:
  std::vector<std::string> docker(std::vector<std::string> args) const;
  const Config& config_;
  ProcessRunner& runner_;
  std::string server_;
  std::string password_;
  std::string config_dir_;  // the build box's private docker config, once logged in
};

}  // namespace podlift
