// "Did you mean" suggestions for unknown config keys and commands.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace podlift {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), ignoring case.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to word if it is a plausible typo (distance <= 1 for words of up to 3
// characters, <= 2 otherwise), else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean \"x\"?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace podlift
