#include "deployer/gzip.hpp"

#include <zlib.h>

#include <algorithm>

#include "core/error.hpp"

namespace podlift {

struct GzipWriter::State {
  z_stream z{};
  bool finished = false;
};

GzipWriter::GzipWriter(int level) : s_(std::make_unique<State>()) {
  // windowBits 15 + 16: a gzip header and trailer rather than a bare zlib stream.
  if (deflateInit2(&s_->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error("cannot start gzip compression (zlib)");
  }
}

GzipWriter::~GzipWriter() {
  deflateEnd(&s_->z);
}

namespace {
void run(z_stream& z, std::string_view in, std::string& out, int flush) {
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  unsigned char buf[64 * 1024];
  for (;;) {
    z.next_out = buf;
    z.avail_out = sizeof buf;
    const int rc = deflate(&z, flush);
    if (rc == Z_STREAM_ERROR) throw Error("gzip compression failed (zlib)");
    out.append(reinterpret_cast<char*>(buf), sizeof buf - z.avail_out);
    if (flush == Z_FINISH ? rc == Z_STREAM_END : (z.avail_in == 0 && z.avail_out != 0)) break;
  }
}
}  // namespace

void GzipWriter::write(std::string_view in, std::string& out) {
  // zlib counts input in uInt; feed very large pieces in parts.
  while (!in.empty()) {
    const size_t n = std::min<size_t>(in.size(), 1u << 30);
    run(s_->z, in.substr(0, n), out, Z_NO_FLUSH);
    in.remove_prefix(n);
  }
}

void GzipWriter::finish(std::string& out) {
  if (s_->finished) return;
  run(s_->z, {}, out, Z_FINISH);
  s_->finished = true;
}

}  // namespace podlift
