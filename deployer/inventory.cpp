#include "deployer/inventory.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "deployer/docker.hpp"

namespace podlift {

namespace {
std::string label(const std::string& labels, const std::string& key) {
  // docker renders labels as "k1=v1,k2=v2"; podlift's own values never contain commas.
  std::stringstream ss(labels);
  std::string kv;
  while (std::getline(ss, kv, ',')) {
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
  }
  return "";
}
}  // namespace

std::vector<ContainerInfo> parse_docker_ps(const std::string& text) {
  std::vector<ContainerInfo> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    ContainerInfo c;
    auto str = [&](const char* k) {
      return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
    };
    c.id = str("ID");
    c.name = str("Names");
    c.image = str("Image");
    c.state = str("State");
    c.status = str("Status");
    c.created_at = str("CreatedAt");
    std::string labels = str("Labels");
    c.version_id = label(labels, "podlift.version");
    c.role = label(labels, "podlift.role");
    std::string port = label(labels, "podlift.port");
    c.host_port = port.empty() ? 0 : std::atoi(port.c_str());
    out.push_back(std::move(c));
  }
  // CreatedAt is "2026-12-03 19:07:37 +0000 UTC": lexical order is time order.
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.created_at > b.created_at; });
  return out;
}

std::vector<ContainerInfo> list_containers(RemoteExecutor& remote, const std::string& service) {
  return parse_docker_ps(
      run_checked(remote, docker_ps_argv(service), "listing containers of " + service));
}

}  // namespace podlift
