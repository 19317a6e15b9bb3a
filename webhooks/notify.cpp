#include "webhooks/notify.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace podlift::webhooks {

void HttpNotifier::finished(const watcher::DeployRecord& record) {
  if (url_.empty()) return;
  auto scheme = url_.find("://");
  auto slash = url_.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string origin = slash == std::string::npos ? url_ : url_.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : url_.substr(slash);
  nlohmann::json body = record;
  body.erase("pid");
  body["service"] = service_;
  body["branch"] = branch_;
  try {
    httplib::Client client(origin);
    client.set_connection_timeout(3, 0);
    client.set_read_timeout(5, 0);
    client.set_write_timeout(5, 0);
    auto res = client.Post(path, body.dump(), "application/json");
    if (!res) {
      spdlog::warn("deploy notification to {} failed: {}", origin, httplib::to_string(res.error()));
    } else if (res->status >= 300) {
      spdlog::warn("deploy notification to {} answered {}", origin, res->status);
    }
  } catch (const std::exception& e) {
    spdlog::warn("deploy notification to {} failed: {}", origin, e.what());
  }
}

}  // namespace podlift::webhooks
