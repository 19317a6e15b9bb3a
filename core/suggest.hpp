// "Did you mean" suggestions for unknown config keys and commands.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace podlift {

// Levenshtein distance (bytes).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to word if it is close enough to be a plausible typo (distance <= 2, or
// <= 1/3 of the word's length for long words), else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean \"x\"?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace podlift
