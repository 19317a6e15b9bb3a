// Quoting for POSIX sh. The only place where values become shell text: every remote or local
// shell command is built from argument vectors through these functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace podlift {

// One word for /bin/sh: returned unchanged if it only holds characters that are never special
// (A-Z a-z 0-9 and _ - . / : = @ % + ,), otherwise wrapped in single quotes with each ' written
// as '\''. The empty string becomes ''. Bytes >= 0x80 (UTF-8) are kept as they are, quoted.
std::string shell_quote(std::string_view word);

// argv joined with spaces, each element quoted with shell_quote.
std::string shell_join(const std::vector<std::string>& argv);

// Commands joined into a pipeline "a | b | c", each quoted with shell_join.
std::string shell_pipeline(const std::vector<std::vector<std::string>>& commands);

}  // namespace podlift
