#pragma once
// "Did you mean": the known name closest to a misspelt one, by edit distance, so that a typo in
// a flag or a LETTAGATE_* variable is reported with its fix instead of being ignored.
#include <string>
#include <string_view>
#include <vector>

namespace lg::config {

// Levenshtein distance (insertions, deletions, substitutions; a swap of two letters counts 2).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `name`, or "" when none is near enough to be a typo of it (more
// than half of the name's length, at least 2, apart). Ties go to the first candidate.
std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace lg::config
