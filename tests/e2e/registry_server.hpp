// A real registry for e2e tests: Debian's docker-registry, started on the build box with TLS
// (a CA made for the run, trusted by the build box's engine and by each test server through
// /etc/docker/certs.d) and htpasswd (bcrypt) auth. It listens on the build box's address on the
// Docker bridge, which the test servers reach and the build box itself pushes to.
#pragma once

#include <string>

#include "harness.hpp"

namespace podlift::e2e {

class TestRegistry {
 public:
  // Starts it (throws std::runtime_error when it cannot).
  TestRegistry(const std::string& user, const std::string& password);
  ~TestRegistry();
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  const std::string& address() const { return address_; }  // "172.17.0.1:PORT"
  void trust(TestServer& server) const;                    // installs the CA on a server
  void stop();
  void start();
  // `curl` of a registry API path with the test credentials, from the build box.
  Exec api(const std::string& path) const;

 private:
  std::string dir_;
  std::string address_;
  std::string user_, password_;
  int pid_ = 0;
};

}  // namespace podlift::e2e
