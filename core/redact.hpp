// Secret redaction. Every secret value podlift learns (env secrets, later registry passwords and
// webhook secrets) is registered here; redact() replaces each occurrence in text with
// "[redacted]". Error printing and the log sink pass everything through it, so a secret that
// leaks into a remote error message still never reaches the terminal.
#pragma once

#include <string>
#include <string_view>

namespace podlift {

// Registers a value to hide. Values shorter than 4 bytes are ignored (they would redact noise).
void register_secret(std::string_view value);
std::string redact(std::string_view text);
// Forget all registered secrets (tests).
void clear_secrets();

// Logging: spdlog's default logger writing "podlift: <level>: <message>" to stderr, every message
// redacted. verbose enables debug messages.
void setup_logging(bool verbose);

}  // namespace podlift
