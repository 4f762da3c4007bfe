// "Did you mean": the closest candidate to a misspelt name.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringmx::config {

// Optimal string alignment distance (Levenshtein plus adjacent swaps, so
// "backlgo" is one edit from "backlog"), case-insensitive.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `name`, if it is near enough to be a plausible
// typo (at most 1 edit for names up to 4 bytes, 2 up to 8, then 3), else one
// that `name` begins or ends (or that begins or ends `name`), else nothing.
std::optional<std::string> closest(std::string_view name, std::span<const std::string> candidates);

}  // namespace ringmx::config
