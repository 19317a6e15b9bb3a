// Getting an image from the build box onto a server without a registry: `docker save` streamed
// over an SSH channel into `docker load`, no temporary file on either side. (Issue 5 will ship
// only the layers a server lacks; this stays the plain full stream and the fallback.)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/process.hpp"
#include "deployer/remote.hpp"

namespace podlift {

struct ShipResult {
  bool already_present = false;  // the server had the image; nothing was sent
  std::uint64_t bytes = 0;
  std::chrono::milliseconds took{0};
};

// progress(bytes_so_far) is called at most every ~200 ms while streaming.
// A transfer with no progress for idle_timeout fails with an Error naming the server.
ShipResult ship_image(ProcessRunner& local, RemoteExecutor& remote, const std::string& image,
                      const std::function<void(std::uint64_t)>& progress,
                      std::chrono::milliseconds idle_timeout = std::chrono::seconds(60));

}  // namespace podlift
