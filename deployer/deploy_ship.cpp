// Deployer::ship_all: the deploy's ship step, in registry mode or SSH mode.
#include <cstdio>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deployer/deploy.hpp"
#include "deployer/registry.hpp"
#include "deployer/ship.hpp"

namespace podlift {

namespace {

std::string rate(std::uint64_t bytes, std::chrono::milliseconds took) {
  const double s = std::max(0.001, static_cast<double>(took.count()) / 1000.0);
  return format_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / s)) + "/s";
}

}  // namespace

void Deployer::ship_over_ssh(RemoteExecutor& remote, LocalImage& image, ServerSummary& out) {
  ShipOptions opts;
  opts.trim_layers = config_.ship.trim_layers;
  opts.compression_level = config_.ship.compression_level;
  opts.idle_timeout = config_.ship.idle_timeout;
  opts.finish_timeout =
      std::max<std::chrono::milliseconds>(config_.ssh.command_timeout, std::chrono::minutes(10));
  // A line every 50 MiB sent or every 5 s keeps logs readable when stderr is not a terminal.
  std::uint64_t next_bytes = 50ull << 20;
  std::chrono::milliseconds next_time{5000};
  auto progress = [&](const ShipProgress& p) {
    if (p.sent < next_bytes && p.elapsed < next_time) return;
    next_bytes = p.sent + (50ull << 20);
    next_time = p.elapsed + std::chrono::seconds(5);
    say_("shipping to " + out.server + ": " + format_bytes(p.sent) + " sent (" +
         rate(p.sent, p.elapsed) + "), " + format_bytes(p.read) + " of the image read");
  };
  auto r = ship_image(image, remote, opts, progress,
                      [&](const std::string& m) { say_("warning: " + m); });
  out.shipped_by = "ssh";
  out.already_present = r.already_present;
  out.shipped_bytes = r.bytes;
  out.layers = r.layers;
  out.layers_skipped = r.layers_skipped;
  out.fell_back = r.fell_back;
  if (r.already_present) {
    say_(out.server + " already has " + image.ref() + ": nothing to ship");
    return;
  }
  std::string what = "shipped " + format_bytes(r.bytes) + " to " + out.server + " in " +
                     format_seconds(r.took.count()) + " (" + rate(r.bytes, r.took) + ")";
  if (r.layers_skipped > 0) {
    what += "; " + std::to_string(r.layers_skipped) + " of " + std::to_string(r.layers) +
            " layers were already there (" + format_bytes(r.bytes_skipped) + " not sent)";
  }
  say_(what);
}

void Deployer::ship_all(std::vector<std::unique_ptr<RemoteExecutor>>& remotes,
                        const std::string& image, Registry* registry, DeploySummary& sum) {
  LocalImage local(runner_, image);
  bool pushed = false;
  bool registry_down = false;  // once it could not be reached, later servers go over SSH at once
  for (size_t i = 0; i < remotes.size(); ++i) {
    check_interrupted();
    auto& out = sum.servers[i];
    out.server = remotes[i]->name();
    if (registry == nullptr || registry_down) {
      ship_over_ssh(*remotes[i], local, out);
      continue;
    }
    try {
      // A server that has the image (a redeploy, a rollback target) needs no registry at all.
      RemoteCommand has;
      has.argv = {"docker", "image", "inspect", "--format", "{{.Id}}", image};
      auto h = remotes[i]->run(has);
      if (h && h->exit_status == 0) {
        out.shipped_by = "registry";
        out.already_present = true;
        say_(out.server + " already has " + image + ": nothing to pull");
        continue;
      }
      if (!pushed) {
        say_("pushing " + image + " to " + registry->server());
        registry->push(image);
        pushed = true;
      }
      say_(out.server + ": pulling " + image);
      registry->pull(*remotes[i], image);
      out.shipped_by = "registry";
    } catch (const RegistryUnreachable& e) {
      if (config_.registry.fallback != "ssh") {
        throw Error(std::string(e.what()) + "; no server was switched to the new version");
      }
      say_("warning: " + std::string(e.what()) + "; shipping over SSH (registry.fallback: ssh)");
      registry_down = !pushed;  // a server that cannot reach it says nothing about the others
      ship_over_ssh(*remotes[i], local, out);
    }
  }
}

}  // namespace podlift
