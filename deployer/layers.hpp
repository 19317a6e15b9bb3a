// Shipping only the layers a server lacks: which layers a server already has, and a `docker save`
// stream rewritten on the fly so that those layers travel as empty files.
//
// Why this works: `docker load` skips every layer whose chain (the layer and all below it) the
// engine already has, without reading its layer.tar, so an emptied layer.tar is never looked at.
// If the server lacks a layer we emptied, load fails cleanly ("invalid diffID", nothing loaded)
// and the caller resends the full stream. Nothing here touches a process or the network.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podlift {

// How many of `layers` (diff IDs, bottom first) a server has as a chain: the longest prefix of
// `layers` that is also a prefix of the layer list of one of `server_images`.
size_t present_prefix(const std::vector<std::string>& layers,
                      const std::vector<std::vector<std::string>>& server_images);

// Parses the output of `docker image inspect --format '{{json .RootFS.Layers}}' ...`: one JSON
// array of diff IDs per line. Lines that are not such arrays are ignored.
std::vector<std::vector<std::string>> parse_layer_lists(std::string_view text);

// An incremental reader of a tar stream: splits it into entries and lets a subclass decide, per
// entry, whether its data passes through, and whether it wants to see that data.
class TarFilter {
 public:
  virtual ~TarFilter() = default;
  // Feeds the next input bytes; what passes through is appended to `out` (dropped if null).
  void feed(std::string_view in, std::string* out);
  // The input has ended. Returns false if it ended inside an entry (a truncated archive).
  bool complete() const { return state_ == State::kHeader && pending_.empty(); }

 protected:
  struct Entry {
    std::string name;  // with a leading "./" removed
    char type = '0';   // ustar typeflag ('0' or '\0' regular, '5' directory, 'x' pax, ...)
    std::uint64_t size = 0;
    bool after_extension = false;  // a pax/GNU extension header came just before this one
  };
  enum class Action { kPass, kPassAndCollect, kEmpty };
  // Called at each entry's header. kEmpty writes the header with size 0 and drops the data.
  virtual Action on_entry(const Entry& entry) = 0;
  // Called with the whole data of an entry answered kPassAndCollect (only small entries are
  // collected; larger ones pass without this call).
  virtual void on_data(const Entry& entry, const std::string& data) = 0;

 private:
  enum class State { kHeader, kData };
  void start_entry(const char* header, std::string* out);
  void end_entry();
  void read_extension();
  State state_ = State::kHeader;
  std::string pending_;  // an incomplete header block
  Entry entry_;
  Action action_ = Action::kPass;
  std::uint64_t left_ = 0;  // data + padding bytes of the current entry still to come
  std::uint64_t data_left_ = 0;
  std::string collected_;
  bool extension_seen_ = false;
  bool zero_block_seen_ = false;
  bool lost_ = false;                      // a header failed its checksum: pass the rest untouched
  bool collect_extension_ = false;         // the current entry is a pax/long-name header to read
  std::optional<std::uint64_t> ext_size_;  // from a pax header, for the next entry
  std::optional<std::string> ext_path_;    // from a pax or GNU long-name header
};

// Learns, from a whole `docker save` stream, the position of each legacy layer directory
// ("<v1 id>/layer.tar") in the image: a layer directory's `json` names its parent.
class LayerMapper : public TarFilter {
 public:
  // Layer directory -> index (0 = bottom), for every directory whose chain reaches the root.
  std::map<std::string, size_t> positions() const;

 protected:
  Action on_entry(const Entry& entry) override;
  void on_data(const Entry& entry, const std::string& data) override;

 private:
  std::map<std::string, std::string> parent_;  // dir -> parent dir ("" for the bottom layer)
};

// Rewrites a `docker save` stream so that the bottom `present` layers of the image (of
// `layer_count`) travel as empty files. Handles the legacy format of Docker ≤ 24
// ("<v1 id>/{VERSION,json,layer.tar}") and the OCI layout of newer engines ("blobs/sha256/<diff
// id>" for uncompressed layers). A layer whose position cannot be proven below `present` is sent
// whole: sending a layer the server has costs bytes, emptying one it lacks would cost a retry.
class LayerTrimmer : public TarFilter {
 public:
  // `diff_ids`: the image's layers, bottom first. `known`: positions of legacy layer directories
  // learnt by a LayerMapper pass, needed only when more than the top layer is missing.
  LayerTrimmer(std::vector<std::string> diff_ids, size_t present,
               std::map<std::string, size_t> known = {});

  size_t layers_emptied() const { return emptied_; }
  std::uint64_t bytes_emptied() const { return bytes_emptied_; }

 protected:
  Action on_entry(const Entry& entry) override;
  void on_data(const Entry& entry, const std::string& data) override;

 private:
  std::optional<size_t> position(const std::string& dir) const;
  bool can_empty(const std::string& dir) const;

  std::vector<std::string> diff_ids_;
  size_t present_;
  std::map<std::string, size_t> known_;
  struct Dir {
    std::string parent;
    bool top = false;  // its json carries the image config: the topmost layer
  };
  std::map<std::string, Dir> dirs_;
  size_t emptied_ = 0;
  std::uint64_t bytes_emptied_ = 0;
};

}  // namespace podlift
