#include "deployer/ship.hpp"

#include "core/interrupt.hpp"
#include "deployer/docker.hpp"

namespace podlift {

ShipResult ship_image(ProcessRunner& local, RemoteExecutor& remote, const std::string& image,
                      const std::function<void(std::uint64_t)>& progress,
                      std::chrono::milliseconds idle_timeout) {
  using Clock = std::chrono::steady_clock;
  ShipResult res;
  const auto start = Clock::now();
  RemoteCommand has;
  has.argv = {"docker", "image", "inspect", "--format", "{{.Id}}", image};
  auto h = remote.run(has);
  if (!h) throw Error("checking for " + image + " on " + remote.name() + ": " + h.error());
  if (h->exit_status == 0) {
    res.already_present = true;
    return res;
  }

  auto save = local.stream({local_docker(), "save", image});
  auto last_report = Clock::now();
  RemoteCommand load;
  load.argv = {"docker", "load", "--quiet"};
  load.idle_timeout = idle_timeout;
  load.timeout = std::chrono::hours(6);  // bounded by idle_timeout in practice
  load.stdin_source = [&](char* buf, size_t cap) -> size_t {
    check_interrupted();
    size_t n = save->read(buf, cap);
    res.bytes += n;
    if (progress && Clock::now() - last_report > std::chrono::milliseconds(200)) {
      last_report = Clock::now();
      progress(res.bytes);
    }
    return n;
  };
  auto r = remote.run(load);
  ProcessResult saved = save->finish();
  if (progress) progress(res.bytes);
  if (saved.exit_code != 0) {
    throw Error("docker save " + image + " failed on the build box: " + saved.err);
  }
  if (!r) throw Error("shipping " + image + " to " + remote.name() + ": " + r.error());
  if (r->exit_status != 0) {
    throw Error("docker load on " + remote.name() + " failed: " + r->err);
  }
  res.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return res;
}

}  // namespace podlift
