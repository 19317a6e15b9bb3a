#include "core/quote.hpp"

namespace podlift {

namespace {
bool is_plain(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_':
    case '-':
    case '.':
    case '/':
    case ':':
    case '=':
    case '@':
    case '%':
    case '+':
    case ',':
      return true;
    default:
      return false;
  }
}
}  // namespace

std::string shell_quote(std::string_view word) {
  bool plain = !word.empty();
  for (char c : word) plain = plain && is_plain(c);
  // A leading '=' or '-' is harmless to sh; '~' is excluded above so no tilde expansion happens.
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += shell_quote(a);
  }
  return out;
}

std::string shell_pipeline(const std::vector<std::vector<std::string>>& commands) {
  std::string out;
  for (const auto& c : commands) {
    if (!out.empty()) out += " | ";
    out += shell_join(c);
  }
  return out;
}

}  // namespace podlift
