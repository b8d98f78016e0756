// "Did you mean" hints for misspelt names (config keys, network types and options).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace sr {

// Levenshtein distance: single-character insertions, deletions and substitutions.
size_t edit_distance(const std::string& a, const std::string& b);

// " (did you mean 'X'?)" for the valid name X nearest to `word`, when it is close enough to
// be a typo (at most max(2, |word|/3) edits); "" otherwise.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& valid);

}  // namespace sr
