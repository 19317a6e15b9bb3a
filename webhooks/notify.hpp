// Deploy notifications: a JSON POST to watch.notify_url after each automatic deploy, e.g.
// {"service":"hello","branch":"main","sha":"...","result":"success","error":"",
//  "trigger":"webhook github","forced":false,"started_ms":...,"ended_ms":...,"steps":[...]}.
// Bounded (3 s to connect, 5 s to answer); a failure is logged, never retried, never fatal.
#pragma once

#include <string>

#include "watcher/watcher.hpp"

namespace podlift::webhooks {

class HttpNotifier : public watcher::DeployListener {
 public:
  HttpNotifier(std::string url, std::string service, std::string branch)
      : url_(std::move(url)), service_(std::move(service)), branch_(std::move(branch)) {}
  void finished(const watcher::DeployRecord& record) override;

 private:
  std::string url_, service_, branch_;
};

}  // namespace podlift::webhooks
