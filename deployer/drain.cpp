#include "deployer/drain.hpp"

#include <sstream>

namespace podlift {

std::vector<std::string> gate_rule(const std::string& service, const std::string& port) {
  // clang-format off
  return {"INPUT", "-s", kGatedSource, "-i", "lo", "-p", "tcp", "--dport", port, "--syn",
          "-m", "comment", "--comment", "podlift:" + service,
          "-j", "REJECT", "--reject-with", "tcp-reset"};
  // clang-format on
}

void PortGate::close(int port) {
  std::vector<std::string> argv = {"iptables", "-w", "-I"};
  auto rule = gate_rule(service_, std::to_string(port));
  argv.insert(argv.end(), rule.begin(), rule.end());
  run_checked(remote_, argv, "refusing new connections to port " + std::to_string(port));
}

void PortGate::open(int port) {
  std::vector<std::string> argv = {"iptables", "-w", "-D"};
  auto rule = gate_rule(service_, std::to_string(port));
  argv.insert(argv.end(), rule.begin(), rule.end());
  for (int i = 0; i < 10; ++i) {  // a rule inserted twice needs two deletes
    RemoteCommand cmd;
    cmd.argv = argv;
    auto r = remote_.run(cmd);
    if (!r || r->exit_status != 0) break;
  }
}

void PortGate::clear_all() {
  RemoteCommand list;
  list.argv = {"iptables", "-w", "-S", "INPUT"};
  auto r = remote_.run(list);
  if (!r || r->exit_status != 0) return;
  std::stringstream ss(r->out);
  std::string line;
  const std::string marker = "podlift:" + service_;
  while (std::getline(ss, line)) {
    if (line.find(marker) == std::string::npos || line.rfind("-A INPUT ", 0) != 0) continue;
    // Recover the port from the listed rule and delete it through the same spec.
    auto at = line.find("--dport ");
    if (at == std::string::npos) continue;
    open(std::atoi(line.c_str() + at + 8));
  }
}

int PortGate::wait_drained(int port, Clock& clock, std::chrono::milliseconds timeout) {
  const auto deadline = clock.now() + timeout;
  while (true) {
    RemoteCommand cmd;
    cmd.argv = {"ss", "-Htn", "state", "established", "( sport = :" + std::to_string(port) + " )"};
    auto r = remote_.run(cmd);
    int open_connections = 0;
    if (r && r->exit_status == 0) {
      std::stringstream ss(r->out);
      std::string line;
      while (std::getline(ss, line)) open_connections += line.empty() ? 0 : 1;
    }
    if (open_connections == 0 || clock.now() >= deadline) return open_connections;
    clock.sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace podlift
