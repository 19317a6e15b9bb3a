#include "registry_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "core/quote.hpp"

namespace podlift::e2e {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The build box's IPv4 address on docker0, which containers on the default bridge reach.
std::string bridge_address() {
  Exec r = sh("ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1 | head -n1");
  std::string ip = trimmed(r.out);
  if (ip.empty()) throw std::runtime_error("no IPv4 address on docker0: " + r.err);
  return ip;
}

int free_port(const std::string& ip) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

void must(const Exec& r, const std::string& what) {
  if (r.rc != 0) throw std::runtime_error(what + " failed: " + r.all());
}

}  // namespace

TestRegistry::TestRegistry(const std::string& user, const std::string& password)
    : user_(user), password_(password) {
  static int counter = 0;
  dir_ = work_dir() + "/registry-" + std::to_string(++counter);
  const std::string ip = bridge_address();
  address_ = ip + ":" + std::to_string(free_port(ip));
  const std::string d = shell_quote(dir_);
  must(sh("mkdir -p " + d + "/data && cd " + d +
          " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=podlift e2e CA'"
          " -keyout ca.key -out ca.crt"
          " && openssl req -newkey rsa:2048 -nodes -subj " +
          shell_quote("/CN=" + ip) +
          " -keyout reg.key -out reg.csr"
          " && printf 'subjectAltName=IP:%s\\nextendedKeyUsage=serverAuth\\n' " +
          shell_quote(ip) +
          " > ext.cnf"
          " && openssl x509 -req -in reg.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
          " -extfile ext.cnf -out reg.crt"
          " && htpasswd -Bbn " +
          shell_quote(user) + " " + shell_quote(password) + " > htpasswd"),
       "making the registry's certificate and htpasswd");
  std::ofstream(dir_ + "/config.yml")
      << "version: 0.1\nlog: {level: warn}\n"
      << "storage:\n  filesystem: {rootdirectory: " << dir_ << "/data}\n"
      << "  delete: {enabled: true}\n"
      << "http:\n  addr: " << address_ << "\n"
      << "  tls: {certificate: " << dir_ << "/reg.crt, key: " << dir_ << "/reg.key}\n"
      << "auth:\n  htpasswd: {realm: podlift-e2e, path: " << dir_ << "/htpasswd}\n";
  // The build box's engine trusts the CA for this address only.
  must(sh("mkdir -p /etc/docker/certs.d/" + shell_quote(address_) + " && cp " + d +
          "/ca.crt /etc/docker/certs.d/" + shell_quote(address_) + "/ca.crt"),
       "trusting the registry's CA");
  start();
}

TestRegistry::~TestRegistry() {
  stop();
  sh("rm -rf /etc/docker/certs.d/" + shell_quote(address_));
}

void TestRegistry::start() {
  if (pid_ != 0) return;
  Exec r = sh("cd " + shell_quote(dir_) +
              " && (docker-registry serve config.yml > registry.log 2>&1 & echo $!)");
  pid_ = std::atoi(r.out.c_str());
  for (int i = 0; i < 100; ++i) {
    if (api("/v2/").rc == 0) return;
    sleep_ms(100);
  }
  throw std::runtime_error("docker-registry did not start: " + read_file(dir_ + "/registry.log"));
}

void TestRegistry::stop() {
  if (pid_ == 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 50 && ::kill(pid_, 0) == 0; ++i) sleep_ms(100);
  ::kill(pid_, SIGKILL);
  pid_ = 0;
}

void TestRegistry::trust(TestServer& server) const {
  const std::string dir = "/etc/docker/certs.d/" + address_;
  Exec r =
      server.exec("mkdir -p " + shell_quote(dir) + " && cat > " + shell_quote(dir + "/ca.crt") +
                  " <<'EOF'\n" + read_file(dir_ + "/ca.crt") + "EOF");
  must(r, "trusting the registry's CA on " + server.name());
}

Exec TestRegistry::api(const std::string& path) const {
  return run({"curl", "-fsS", "--max-time", "5", "--cacert", dir_ + "/ca.crt", "-u",
              user_ + ":" + password_, "https://" + address_ + path});
}

}  // namespace podlift::e2e
