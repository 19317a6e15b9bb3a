#include "deployer/ship.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "core/interrupt.hpp"
#include "deployer/docker.hpp"
#include "deployer/gzip.hpp"
#include "deployer/layers.hpp"

namespace podlift {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kReadSize = 256 * 1024;

// The bytes that go on the channel: `docker save` → layer trimmer (optional) → gzip (optional).
class WireStream {
 public:
  WireStream(std::unique_ptr<ProcessStream> save, std::unique_ptr<LayerTrimmer> trimmer, int level)
      : save_(std::move(save)),
        trimmer_(std::move(trimmer)),
        gzip_(level > 0 ? std::make_unique<GzipWriter>(level) : nullptr),
        in_(kReadSize) {}

  // Fills `buf` with the next bytes for the wire; 0 at the end.
  size_t read(char* buf, size_t cap) {
    while (pos_ == out_.size() && !ended_) {
      check_interrupted();
      out_.clear();
      pos_ = 0;
      size_t n = 0;
      try {
        n = save_->read(in_.data(), in_.size());
      } catch (const Error& e) {
        throw Error("docker save on the build box: " + std::string(e.what()), e.code());
      }
      if (n == 0) {
        spdlog::debug("docker save ended: {} bytes", read_bytes_);
        ended_ = true;
        if (gzip_) gzip_->finish(out_);
        break;
      }
      read_bytes_ += n;
      std::string_view chunk(in_.data(), n);
      if (trimmer_) {
        plain_.clear();
        trimmer_->feed(chunk, &plain_);
        chunk = plain_;
      }
      if (gzip_) {
        gzip_->write(chunk, out_);
      } else {
        out_.append(chunk);
      }
    }
    const size_t n = std::min(cap, out_.size() - pos_);
    std::copy_n(out_.data() + pos_, n, buf);
    pos_ += n;
    sent_bytes_ += n;
    return n;
  }
  ProcessResult finish() { return save_->finish(); }
  // The whole save stream was read (else `docker save` is killed by finish()).
  bool complete() const { return ended_; }
  std::uint64_t read_bytes() const { return read_bytes_; }
  std::uint64_t sent_bytes() const { return sent_bytes_; }
  const LayerTrimmer* trimmer() const { return trimmer_.get(); }

 private:
  std::unique_ptr<ProcessStream> save_;
  std::unique_ptr<LayerTrimmer> trimmer_;
  std::unique_ptr<GzipWriter> gzip_;
  std::vector<char> in_;
  std::string plain_;
  std::string out_;
  size_t pos_ = 0;
  bool ended_ = false;
  std::uint64_t read_bytes_ = 0;
  std::uint64_t sent_bytes_ = 0;
};

struct Attempt {
  bool loaded = false;
  std::string load_error;  // docker load's stderr when it refused the stream
};

// One transfer: the save stream (trimmed to `present` layers when present > 0) into docker load.
// `save` is a `docker save` of the image started by the caller, or null to start one here.
Attempt send(LocalImage& image, RemoteExecutor& remote, const ShipOptions& options, size_t present,
             std::unique_ptr<ProcessStream> save, const ShipProgressFn& progress, ShipResult& res,
             Clock::time_point start) {
  std::unique_ptr<LayerTrimmer> trimmer;
  if (present > 0) {
    std::map<std::string, size_t> known;
    // The save stream's layer directories come in name order, not layer order; where more than
    // the top layer is missing, a first local pass tells which directory is which layer.
    if (present + 1 < image.layers().size()) known = image.positions();
    trimmer = std::make_unique<LayerTrimmer>(image.layers(), present, std::move(known));
  }
  WireStream wire(save ? std::move(save) : image.open_save(), std::move(trimmer),
                  options.compression_level);
  auto last_report = Clock::now();
  auto report = [&] {
    if (!progress) return;
    progress({wire.sent_bytes(), wire.read_bytes(),
              std::chrono::duration_cast<milliseconds>(Clock::now() - start)});
  };
  RemoteCommand load;
  load.argv = {"docker", "load", "--quiet"};
  load.idle_timeout = options.idle_timeout;
  load.finish_timeout = options.finish_timeout;
  load.timeout = std::chrono::hours(24);  // bounded by idle_timeout and finish_timeout instead
  load.stdin_source = [&](char* buf, size_t cap) -> size_t {
    const size_t n = wire.read(buf, cap);
    if (Clock::now() - last_report > milliseconds(200)) {
      last_report = Clock::now();
      report();
    }
    return n;
  };
  auto r = remote.run(load);
  ProcessResult saved = wire.finish();
  spdlog::debug("ship to {}: {} bytes read, {} sent, {} ms since the ship began", remote.name(),
                wire.read_bytes(), wire.sent_bytes(),
                std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
  report();
  res.bytes += wire.sent_bytes();
  res.image_bytes = wire.read_bytes();
  if (!r) throw Error("shipping " + image.ref() + " to " + remote.name() + ": " + r.error());
  // A save stream read to its end that exited non-zero is the build box's failure; one cut short
  // was stopped by us because docker load gave up first, whose reason is the one to report.
  if (wire.complete() && saved.exit_code != 0) {
    throw Error("docker save " + image.ref() + " failed on the build box: " + saved.err);
  }
  if (wire.trimmer() != nullptr) {
    res.layers_skipped = wire.trimmer()->layers_emptied();
    res.bytes_skipped = wire.trimmer()->bytes_emptied();
  }
  Attempt a;
  a.loaded = r->exit_status == 0 && wire.complete();
  a.load_error = r->err.empty() ? r->out : r->err;
  if (a.load_error.empty()) a.load_error = "exit status " + std::to_string(r->exit_status);
  return a;
}

// Failures that sending the whole image would only repeat.
bool retry_would_not_help(const std::string& load_error) {
  for (const char* what : {"no space left on device", "Cannot connect to the Docker daemon",
                           "permission denied while trying to connect"}) {
    if (load_error.find(what) != std::string::npos) return true;
  }
  return false;
}

std::string first_line(const std::string& text) {
  auto nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

}  // namespace

const std::vector<std::string>& LocalImage::layers() {
  if (!layers_) {
    std::string out = run_local_checked(
        runner_, {local_docker(), "image", "inspect", "--format", "{{json .RootFS.Layers}}", ref_},
        "docker image inspect " + ref_ + " on the build box");
    auto lists = parse_layer_lists(out);
    layers_ = lists.empty() ? std::vector<std::string>{} : lists.front();
  }
  return *layers_;
}

std::unique_ptr<ProcessStream> LocalImage::open_save() {
  return runner_.stream({local_docker(), "save", ref_}, save_options_);
}

void LocalImage::bound_saves(std::chrono::milliseconds idle, std::chrono::milliseconds staging) {
  save_options_.idle_timeout = idle;
  save_options_.first_output_timeout = staging;
}

const std::map<std::string, size_t>& LocalImage::positions(std::unique_ptr<ProcessStream> save) {
  if (!positions_) {
    if (!save) save = open_save();
    LayerMapper mapper;
    std::vector<char> buf(kReadSize);
    try {
      while (size_t n = save->read(buf.data(), buf.size())) {
        mapper.feed(std::string_view(buf.data(), n), nullptr);
      }
    } catch (const Error& e) {
      throw Error("docker save " + ref_ + " on the build box: " + e.what(), e.code());
    }
    ProcessResult r = save->finish();
    if (r.exit_code != 0) throw Error("docker save " + ref_ + " failed on the build box: " + r.err);
    positions_ = mapper.positions();
  }
  return *positions_;
}

std::vector<std::string> server_layers_argv() {
  return {"sh", "-c",
          "ids=$(docker image ls --all --quiet --no-trunc | sort -u); "
          "[ -z \"$ids\" ] || docker image inspect --format '{{json .RootFS.Layers}}' $ids"};
}

ShipResult ship_image(LocalImage& image, RemoteExecutor& remote, const ShipOptions& options,
                      const ShipProgressFn& progress, const ShipWarnFn& warn) {
  ShipResult res;
  const auto start = Clock::now();
  RemoteCommand has;
  has.argv = {"docker", "image", "inspect", "--format", "{{.Id}}", image.ref()};
  auto h = remote.run(has);
  if (!h) throw Error("checking for " + image.ref() + " on " + remote.name() + ": " + h.error());
  if (h->exit_status == 0) {
    res.already_present = true;
    return res;
  }

  // docker save (20.10) stages the whole image in the daemon's temp dir before the first byte
  // comes out: start it now, so that staging overlaps with asking the server what it has. The
  // idle bound starts at its first byte; staging has its own, larger one.
  image.bound_saves(options.idle_timeout, options.stage_timeout);
  auto save = image.open_save();
  res.layers = image.layers().size();
  size_t present = 0;
  if (options.trim_layers && !image.layers().empty()) {
    // A server that cannot list its layers costs bytes, not the deploy: send everything.
    RemoteCommand list;
    list.argv = server_layers_argv();
    auto l = remote.run(list);
    // Whatever it listed counts, even if an image vanished meanwhile and inspect exited 1.
    if (l) present = present_prefix(image.layers(), parse_layer_lists(l->out));
    spdlog::debug("{} has {} of the {} layers of {} ({} ms since the ship began)", remote.name(),
                  present, image.layers().size(), image.ref(),
                  std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
  }
  // present == layers would mean the same layers under another image ID (other config): the
  // config still has to travel, which the trimmed stream does.
  if (present > 0 && present + 1 < image.layers().size() && !image.has_positions()) {
    image.positions(std::move(save));  // the first pass reads this save; send() starts another
  }
  Attempt a = send(image, remote, options, present, std::move(save), progress, res, start);
  if (!a.loaded && present > 0 && !retry_would_not_help(a.load_error)) {
    if (warn) {
      warn(remote.name() + " refused the image without its lower layers (" +
           first_line(a.load_error) + "); sending the whole image");
    }
    res.fell_back = true;
    res.layers_skipped = 0;
    res.bytes_skipped = 0;
    a = send(image, remote, options, 0, nullptr, progress, res, start);
  }
  if (!a.loaded) {
    throw Error("docker load on " + remote.name() + " failed: " + a.load_error);
  }
  res.took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return res;
}

}  // namespace podlift
