// Private helpers shared by the config loader's source files (config.cpp, config_yaml.cpp,
// config_text.cpp). Not part of core's interface: other components include core/config.hpp only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podlift {
struct Config;
}

namespace podlift::config_detail {

// " (did you mean "x"?)" for the candidate closest to `word` by edit distance (at most 2, at most
// 1 for words of three characters or fewer, ignoring case), or "" when none is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// [A-Za-z_][A-Za-z0-9_]*: environment variable and build argument names.
bool is_env_name(std::string_view name);

// A base-10 integer spelling the whole text (optional leading '-'), or nullopt.
std::optional<long long> parse_integer(std::string_view text);

// Parses a port (1..65535) for the setting named `what`. Throws ConfigError naming it.
int parse_port(const std::string& what, const std::string& text);

// "value" with '"' and '\' escaped, for quoting user text in messages.
std::string in_quotes(std::string_view text);

// `text` with every occurrence of a (non-empty) secret value replaced by "[redacted]".
std::string redact(std::string text, const std::map<std::string, std::string>& secrets);

// Replaces secret values inside the quoted parts of a message ("got \"...\""), where user values
// appear; positions and the rest of the text stay intact even for very short secrets.
std::string redact_quoted(const std::string& message,
                          const std::map<std::string, std::string>& secrets);

// Registry settings that only make sense together, as "<origin>: <what>" lines. A missing
// password is a problem only when `require_secrets` (validate and config report it instead).
std::vector<std::string> registry_problems(const Config& config, bool require_secrets);

}  // namespace podlift::config_detail
