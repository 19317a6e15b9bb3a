// Webhook signature primitives: HMAC-SHA256 in lowercase hex and a constant-time comparison.
#pragma once

#include <string>
#include <string_view>

namespace podlift::webhooks {

std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// True when a and b are equal, in time that depends only on their lengths (OpenSSL's
// CRYPTO_memcmp), so a forged signature cannot be guessed byte by byte from response times.
bool constant_time_equal(std::string_view a, std::string_view b);

// True when `given` (hex, any case) is the HMAC-SHA256 of `data` under `key`.
bool hmac_matches(std::string_view key, std::string_view data, std::string_view given_hex);

}  // namespace podlift::webhooks
