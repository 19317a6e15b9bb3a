#include "deployer/state.hpp"

#include <nlohmann/json.hpp>

#include "deployer/docker.hpp"
#include "deployer/files.hpp"

namespace podlift {

std::string live_record_path(const std::string& service) {
  return env_dir(service) + "/live.json";
}

std::optional<LiveRecord> read_live(RemoteExecutor& remote, const std::string& service) {
  auto text = read_remote_file(remote, live_record_path(service));
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  LiveRecord r;
  r.container = j.value("container", "");
  r.version_id = j.value("version", "");
  r.port = j.value("port", 0);
  if (r.container.empty()) return std::nullopt;
  return r;
}

void write_live(RemoteExecutor& remote, const std::string& service, const LiveRecord& live) {
  nlohmann::json j = {
      {"container", live.container}, {"version", live.version_id}, {"port", live.port}};
  write_remote_file(remote, live_record_path(service), j.dump() + "\n", "644");
}

}  // namespace podlift
