// SSH mode: getting an image from the build box onto a server without a registry. `docker save`
// is streamed through a layer trimmer (deployer/layers.hpp: layers the server has travel as
// empty files) and gzip, over an SSH channel into `docker load`; no temporary file on either
// side. If the server's engine refuses the trimmed stream, the full stream is sent instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "deployer/remote.hpp"

namespace podlift {

struct ShipOptions {
  bool trim_layers = true;    // send only the layers the server lacks
  int compression_level = 1;  // gzip level on the wire; 0 = uncompressed
  // A transfer with no bytes moving for this long fails, naming the server.
  std::chrono::milliseconds idle_timeout{60000};
  // Bound on `docker load` finishing once all bytes are sent (it applies layers silently).
  std::chrono::milliseconds finish_timeout{600000};
  // Bound on `docker save` producing its first byte (Docker 20.10 stages the whole image in its
  // temp dir first, which takes a while for big images).
  std::chrono::milliseconds stage_timeout{1800000};
};

// What shipping to one server did.
struct ShipResult {
  bool already_present = false;   // the server had the image; nothing was sent
  std::uint64_t bytes = 0;        // sent on the SSH channel (compressed)
  std::uint64_t image_bytes = 0;  // of the `docker save` stream read on the build box
  size_t layers = 0;              // layers of the image
  size_t layers_skipped = 0;      // layers the server had, sent as empty files
  std::uint64_t bytes_skipped = 0;
  bool fell_back = false;  // the trimmed stream was refused; the full one was sent
  std::chrono::milliseconds took{0};
};

struct ShipProgress {
  std::uint64_t sent = 0;  // bytes on the channel so far
  std::uint64_t read = 0;  // bytes of the save stream read so far
  std::chrono::milliseconds elapsed{0};
};

// One image on the build box, as shipping needs it: its layers, and (learnt by reading a whole
// `docker save` once, only when a server lacks more than the top layer) where each layer sits in
// the save stream. Shared by every server of a deploy.
class LocalImage {
 public:
  LocalImage(ProcessRunner& runner, std::string ref) : runner_(runner), ref_(std::move(ref)) {}
  const std::string& ref() const { return ref_; }
  // The diff IDs, bottom first (`docker image inspect`). Throws Error.
  const std::vector<std::string>& layers();
  // Save-stream layer directory -> position, read from `save` (a `docker save` of this image
  // already started) or from a save started here. Throws Error.
  const std::map<std::string, size_t>& positions(std::unique_ptr<ProcessStream> save = nullptr);
  bool has_positions() const { return positions_.has_value(); }
  // A `docker save` of the image, bounded as bound_saves() said.
  std::unique_ptr<ProcessStream> open_save();
  // Saves fail after `idle` without output once it began, or `staging` before the first byte.
  void bound_saves(std::chrono::milliseconds idle, std::chrono::milliseconds staging);

 private:
  ProcessRunner& runner_;
  std::string ref_;
  std::optional<std::vector<std::string>> layers_;
  std::optional<std::map<std::string, size_t>> positions_;
  ProcessOptions save_options_;
};

// The command that lists, on a server, the layers of every image it has (one JSON array per
// line). Fixed text: no user value goes into it.
std::vector<std::string> server_layers_argv();

using ShipProgressFn = std::function<void(const ShipProgress&)>;
using ShipWarnFn = std::function<void(const std::string&)>;

// Ships `image` to `remote` unless it has it already. progress is called at most every ~200 ms.
// Throws Error naming the server on failure (a stalled transfer included); `warn` is told when
// the trimmed stream was refused and the full one is being sent.
ShipResult ship_image(LocalImage& image, RemoteExecutor& remote, const ShipOptions& options,
                      const ShipProgressFn& progress, const ShipWarnFn& warn);

}  // namespace podlift
