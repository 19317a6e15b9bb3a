#include "watcher/known_hosts.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <sstream>
#include <vector>

namespace podlift::watcher {

namespace {

std::string base64_decode(std::string_view in) {
  std::string out((in.size() / 4 + 1) * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "";
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  size_t len = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

// One comma-separated pattern list entry against the name; "|1|salt|hash" entries are hashed.
bool host_matches(std::string_view field, const std::string& name) {
  if (field.rfind("|1|", 0) == 0) {
    auto bar = field.find('|', 3);
    if (bar == std::string_view::npos) return false;
    std::string salt = base64_decode(field.substr(3, bar - 3));
    std::string hash = base64_decode(field.substr(bar + 1));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
         reinterpret_cast<const unsigned char*>(name.data()), name.size(), md, &len);
    return hash.size() == len && hash.compare(0, len, reinterpret_cast<char*>(md), len) == 0;
  }
  size_t start = 0;
  while (start <= field.size()) {
    size_t comma = field.find(',', start);
    if (comma == std::string_view::npos) comma = field.size();
    if (field.substr(start, comma - start) == name) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

std::string known_hosts_name(const std::string& host, int port) {
  if (port == 22) return host;
  return "[" + host + "]:" + std::to_string(port);
}

HostKeyStatus check_host_key(std::string_view known_hosts, const std::string& host, int port,
                             const std::string& key_type, std::string_view key_blob) {
  const std::string name = known_hosts_name(host, port);
  bool listed = false;
  std::istringstream lines{std::string(known_hosts)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string hosts, type, key;
    if (!(fields >> hosts) || hosts.empty() || hosts[0] == '#') continue;
    if (hosts[0] == '@') continue;  // @revoked / @cert-authority: not supported, never trusted
    if (!(fields >> type >> key)) continue;
    if (!host_matches(hosts, name)) continue;
    if (type != key_type) continue;
    listed = true;
    if (base64_decode(key) == key_blob) return HostKeyStatus::kMatch;
  }
  return listed ? HostKeyStatus::kMismatch : HostKeyStatus::kUnknown;
}

}  // namespace podlift::watcher
