#include "deployer/health.hpp"

#include <cmath>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deployer/drain.hpp"

namespace podlift {

namespace {
std::string curl_error(int code) {
  switch (code) {
    case 7:
      return "connection refused";
    case 28:
      return "timed out";
    case 52:
      return "empty reply from server";
    case 56:
      return "connection reset";
    default:
      return "curl exit " + std::to_string(code);
  }
}
}  // namespace

std::vector<std::string> health_probe_argv(const HealthcheckConfig& hc, const std::string& port) {
  double secs = std::max(0.1, static_cast<double>(hc.timeout.count()) / 1000.0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", secs);
  // From kProbeSource, so a slot gated against nginx's connections can still be probed.
  std::vector<std::string> argv = {"curl",       "-s",         "-o", "/dev/null", "--interface",
                                   kProbeSource, "--max-time", buf,  "-w",        "%{http_code}"};
  if (!hc.host.empty()) {
    argv.push_back("-H");
    argv.push_back("Host: " + hc.host);
  }
  argv.push_back("http://127.0.0.1:" + port + hc.path);
  return argv;
}

HealthResult wait_healthy(RemoteExecutor& remote, Clock& clock, const HealthcheckConfig& hc,
                          int port, const std::string& container) {
  HealthResult res;
  const auto deadline = clock.now() + hc.deadline;
  while (true) {
    check_interrupted();
    ++res.attempts;
    RemoteCommand probe;
    probe.argv = health_probe_argv(hc, std::to_string(port));
    probe.timeout = hc.timeout + std::chrono::seconds(5);
    auto r = remote.run(probe);
    if (!r) {
      res.last = r.error();
    } else {
      int code = std::atoi(r->out.c_str());
      if (code >= 200 && code < 300) {
        res.healthy = true;
        res.last = "HTTP " + std::to_string(code);
        return res;
      }
      res.last = code > 0 ? "HTTP " + std::to_string(code) : curl_error(r->exit_status);
    }
    RemoteCommand state;
    state.argv = {"docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", container};
    auto s = remote.run(state);
    if (s && s->exit_status == 0 && s->out.rfind("running", 0) != 0) {
      std::string st = trim_right(s->out);
      res.last += "; container is " + st.substr(0, st.find(' ')) + " (exit code " +
                  st.substr(st.find(' ') + 1) + ")";
      return res;
    }
    if (clock.now() + hc.interval > deadline) return res;
    clock.sleep_for(hc.interval);
  }
}

}  // namespace podlift
