// gzip on the wire (zlib). `docker load` detects and decompresses a gzip stream by itself, so
// the server needs no extra tool.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace podlift {

class GzipWriter {
 public:
  // level 1 (fastest) .. 9 (smallest). Throws Error if zlib cannot start.
  explicit GzipWriter(int level);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;
  // Compresses `in`, appending whatever output is ready to `out`.
  void write(std::string_view in, std::string& out);
  // Ends the stream (trailer included), appending the rest to `out`.
  void finish(std::string& out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace podlift
