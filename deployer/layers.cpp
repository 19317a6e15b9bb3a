#include "deployer/layers.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

namespace podlift {

namespace {

constexpr size_t kBlock = 512;
constexpr std::uint64_t kMaxCollect = 1 << 20;  // json files of layer directories are ~2 KB

std::string field(const char* header, size_t offset, size_t len) {
  const char* p = header + offset;
  return std::string(p, strnlen(p, len));
}

// The size field: octal digits (space/NUL padded), or base-256 when its top bit is set.
std::uint64_t parse_size(const char* header) {
  const auto* p = reinterpret_cast<const unsigned char*>(header + 124);
  std::uint64_t v = 0;
  if ((p[0] & 0x80) != 0) {
    for (size_t i = 1; i < 12; ++i) v = (v << 8) | p[i];
    return v;
  }
  size_t i = 0;
  while (i < 12 && p[i] == ' ') ++i;
  for (; i < 12 && p[i] >= '0' && p[i] <= '7'; ++i) v = v * 8 + (p[i] - '0');
  return v;
}

void set_checksum(char* header) {
  std::memset(header + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(header[i]);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06o", sum & 0777777u);
  std::memcpy(header + 148, buf, 6);
  header[154] = '\0';
  header[155] = ' ';
}

// The header's checksum, as POSIX sums it (unsigned bytes) or old tars did (signed).
bool checksum_ok(const char* header) {
  const std::string field(header + 148, 8);
  size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  unsigned want = 0;
  bool digits = false;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i) {
    want = want * 8 + static_cast<unsigned>(field[i] - '0');
    digits = true;
  }
  if (!digits) return false;
  unsigned sum = 0;
  int ssum = 0;
  for (size_t k = 0; k < kBlock; ++k) {
    const bool in_field = k >= 148 && k < 156;
    sum += in_field ? ' ' : static_cast<unsigned char>(header[k]);
    ssum += in_field ? ' ' : static_cast<signed char>(header[k]);
  }
  return sum == want || static_cast<unsigned>(ssum) == want;
}

bool all_zero(const char* block) {
  return std::all_of(block, block + kBlock, [](char c) { return c == '\0'; });
}

std::uint64_t padded(std::uint64_t size) {
  return (size + kBlock - 1) / kBlock * kBlock;
}

// "dir/file" -> {dir, file} for a two-component path; nullopt otherwise.
std::optional<std::pair<std::string, std::string>> split_dir(const std::string& name) {
  auto slash = name.find('/');
  if (slash == std::string::npos || slash == 0 || name.find('/', slash + 1) != std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(name.substr(0, slash), name.substr(slash + 1));
}

bool regular(char type) {
  return type == '0' || type == '\0' || type == '7';
}

// A layer directory's position: the number of ancestors reached through `parent` links (or from
// an ancestor whose position is known).
std::optional<size_t> depth_of(const std::string& dir,
                               const std::map<std::string, std::string>& parent,
                               const std::map<std::string, size_t>& known) {
  std::string cur = dir;
  for (size_t steps = 0; steps <= parent.size() + 1; ++steps) {
    if (auto k = known.find(cur); k != known.end()) return k->second + steps;
    auto it = parent.find(cur);
    if (it == parent.end()) return std::nullopt;
    if (it->second.empty()) return steps;
    cur = it->second;
  }
  return std::nullopt;  // a cycle: not a real image
}

}  // namespace

size_t present_prefix(const std::vector<std::string>& layers,
                      const std::vector<std::vector<std::string>>& server_images) {
  size_t best = 0;
  for (const auto& image : server_images) {
    size_t n = 0;
    while (n < layers.size() && n < image.size() && layers[n] == image[n]) ++n;
    best = std::max(best, n);
  }
  return best;
}

std::vector<std::vector<std::string>> parse_layer_lists(std::string_view text) {
  std::vector<std::vector<std::string>> out;
  std::stringstream ss{std::string(text)};
  std::string line;
  while (std::getline(ss, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_array()) continue;
    std::vector<std::string> layers;
    for (const auto& e : j) {
      if (e.is_string()) layers.push_back(e.get<std::string>());
    }
    out.push_back(std::move(layers));
  }
  return out;
}

void TarFilter::feed(std::string_view in, std::string* out) {
  while (!in.empty()) {
    if (lost_) {  // no longer understood: pass everything as it is
      if (out) out->append(in);
      return;
    }
    if (state_ == State::kHeader) {
      const size_t want = kBlock - pending_.size();
      const size_t take = std::min(want, in.size());
      pending_.append(in.substr(0, take));
      in.remove_prefix(take);
      if (pending_.size() < kBlock) return;
      std::string header = std::move(pending_);
      pending_.clear();
      start_entry(header.data(), out);
      continue;
    }
    const auto take = static_cast<size_t>(std::min<std::uint64_t>(left_, in.size()));
    const auto data = static_cast<size_t>(std::min<std::uint64_t>(data_left_, take));
    if (action_ != Action::kEmpty && out) out->append(in.substr(0, take));
    if (action_ == Action::kPassAndCollect || collect_extension_) {
      collected_.append(in.substr(0, data));
    }
    data_left_ -= data;
    left_ -= take;
    in.remove_prefix(take);
    if (left_ == 0) end_entry();
  }
}

void TarFilter::end_entry() {
  if (collect_extension_) {
    read_extension();
  } else if (action_ == Action::kPassAndCollect) {
    on_data(entry_, collected_);
  }
  collected_.clear();
  collect_extension_ = false;
  state_ = State::kHeader;
}

// What a pax ('x') or GNU long-name ('L') entry says about the entry after it.
void TarFilter::read_extension() {
  if (entry_.type == 'L') {
    ext_path_ = std::string(collected_.c_str());
    return;
  }
  // pax records: "<length> <key>=<value>\n", the length counting the whole record.
  size_t at = 0;
  while (at < collected_.size()) {
    size_t space = collected_.find(' ', at);
    if (space == std::string::npos) break;
    size_t len = std::strtoull(collected_.c_str() + at, nullptr, 10);
    if (len == 0 || at + len > collected_.size()) break;
    std::string record = collected_.substr(space + 1, at + len - space - 2);
    auto eq = record.find('=');
    if (eq != std::string::npos) {
      std::string key = record.substr(0, eq), value = record.substr(eq + 1);
      if (key == "size") ext_size_ = std::strtoull(value.c_str(), nullptr, 10);
      if (key == "path") ext_path_ = value;
    }
    at += len;
  }
}

void TarFilter::start_entry(const char* header, std::string* out) {
  if (all_zero(header)) {  // end-of-archive blocks pass as they are
    zero_block_seen_ = true;
    if (out) out->append(header, kBlock);
    return;
  }
  if (!checksum_ok(header)) {
    // Not a header where one must be: the stream is not what we think it is. Touch nothing more.
    lost_ = true;
    if (out) out->append(header, kBlock);
    return;
  }
  Entry e;
  e.type = header[156];
  e.size = parse_size(header);
  std::string name = field(header, 0, 100);
  if (std::memcmp(header + 257, "ustar\0", 6) == 0) {  // POSIX ustar: a name prefix field
    std::string prefix = field(header, 345, 155);
    if (!prefix.empty()) name = prefix + "/" + name;
  }
  const bool extension = e.type == 'x' || e.type == 'g' || e.type == 'L' || e.type == 'K';
  if (!extension) {
    e.after_extension = extension_seen_;
    if (ext_path_) name = *ext_path_;
    if (ext_size_) e.size = *ext_size_;
    ext_path_.reset();
    ext_size_.reset();
  }
  if (name.rfind("./", 0) == 0) name.erase(0, 2);
  e.name = name;
  extension_seen_ = extension;

  action_ = extension || zero_block_seen_ ? Action::kPass : on_entry(e);
  if (action_ == Action::kPassAndCollect && e.size > kMaxCollect) action_ = Action::kPass;
  // An entry after an extension header passes whole: emptying it would also mean rewriting a
  // size the extension may carry.
  if (action_ == Action::kEmpty && e.after_extension) action_ = Action::kPass;
  collect_extension_ = (e.type == 'x' || e.type == 'L') && e.size <= kMaxCollect;
  if (action_ == Action::kEmpty) {
    std::string h(header, kBlock);
    std::memcpy(h.data() + 124, "00000000000", 12);  // 11 octal digits and a NUL
    set_checksum(h.data());
    if (out) out->append(h);
  } else if (out) {
    out->append(header, kBlock);
  }
  entry_ = std::move(e);
  data_left_ = entry_.size;
  left_ = padded(entry_.size);
  state_ = State::kData;
  if (left_ == 0) end_entry();
}

TarFilter::Action LayerMapper::on_entry(const Entry& entry) {
  auto parts = split_dir(entry.name);
  if (regular(entry.type) && !entry.after_extension && parts && parts->second == "json") {
    return Action::kPassAndCollect;
  }
  return Action::kPass;
}

void LayerMapper::on_data(const Entry& entry, const std::string& data) {
  auto j = nlohmann::json::parse(data, nullptr, false);
  if (!j.is_object()) return;
  auto parent = j.find("parent");
  parent_[split_dir(entry.name)->first] =
      parent != j.end() && parent->is_string() ? parent->get<std::string>() : "";
}

std::map<std::string, size_t> LayerMapper::positions() const {
  std::map<std::string, size_t> out;
  for (const auto& [dir, parent] : parent_) {
    if (auto d = depth_of(dir, parent_, {})) out[dir] = *d;
  }
  return out;
}

LayerTrimmer::LayerTrimmer(std::vector<std::string> diff_ids, size_t present,
                           std::map<std::string, size_t> known)
    : diff_ids_(std::move(diff_ids)),
      present_(std::min(present, diff_ids_.size())),
      known_(std::move(known)) {}

std::optional<size_t> LayerTrimmer::position(const std::string& dir) const {
  std::map<std::string, std::string> parent;
  for (const auto& [d, info] : dirs_) parent[d] = info.parent;
  return depth_of(dir, parent, known_);
}

bool LayerTrimmer::can_empty(const std::string& dir) const {
  const size_t n = diff_ids_.size();
  auto it = dirs_.find(dir);
  if (present_ == 0 || n == 0 || it == dirs_.end()) return false;
  auto pos = position(dir);
  if (!pos && it->second.top) pos = n - 1;
  // docker save writes a layer whose diff ID already appeared lower down as a symlink to that
  // lower file: a file may be emptied only if no layer at or above `present` points at it.
  auto below_present = [&](const std::string& id) {
    for (size_t i = 0; i < n; ++i) {
      if (diff_ids_[i] == id && i >= present_) return false;
    }
    return true;
  };
  if (pos) return *pos < present_ && *pos < n && below_present(diff_ids_[*pos]);
  // Below the top, position unknown: safe only when every layer but the top one is there, and
  // the top is not a symlink to some lower file (it could be this one).
  return present_ + 1 >= n &&
         std::count(diff_ids_.begin(), diff_ids_.end() - 1, diff_ids_.back()) == 0;
}

TarFilter::Action LayerTrimmer::on_entry(const Entry& entry) {
  if (!regular(entry.type) || entry.after_extension) return Action::kPass;
  static const std::string kBlobs = "blobs/sha256/";
  if (entry.name.rfind(kBlobs, 0) == 0) {
    // OCI layout: an uncompressed layer's blob is named by its diff ID.
    const std::string id = "sha256:" + entry.name.substr(kBlobs.size());
    bool listed = false;
    bool all_present = true;
    for (size_t i = 0; i < diff_ids_.size(); ++i) {
      if (diff_ids_[i] != id) continue;
      listed = true;
      all_present = all_present && i < present_;
    }
    if (listed && all_present && entry.size > 0) {
      ++emptied_;
      bytes_emptied_ += entry.size;
      return Action::kEmpty;
    }
    return Action::kPass;
  }
  auto parts = split_dir(entry.name);
  if (!parts) return Action::kPass;
  if (parts->second == "json") return Action::kPassAndCollect;
  if (parts->second == "layer.tar" && entry.size > 0 && can_empty(parts->first)) {
    ++emptied_;
    bytes_emptied_ += entry.size;
    return Action::kEmpty;
  }
  return Action::kPass;
}

void LayerTrimmer::on_data(const Entry& entry, const std::string& data) {
  auto j = nlohmann::json::parse(data, nullptr, false);
  if (!j.is_object()) return;
  Dir d;
  if (auto p = j.find("parent"); p != j.end() && p->is_string()) d.parent = p->get<std::string>();
  d.top = j.contains("config");
  dirs_[split_dir(entry.name)->first] = d;
}

}  // namespace podlift
