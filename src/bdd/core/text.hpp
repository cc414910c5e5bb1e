#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Small text helpers shared by the modules that read text from people and servers.
namespace bdd {

// `text` without leading and trailing ASCII white space (space, tab, CR, LF, FF, VT), whatever
// the locale.
std::string_view trim(std::string_view text);

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so that
// "conifg" is one step from "config". For suggesting the name a user meant.
std::size_t edit_distance(std::string_view a, std::string_view b);

// `number` with a comma between groups of three digits, 1234567 -> "1,234,567": counts in the
// millions read at a glance (progress lines, report.html).
std::string group_digits(std::uint64_t number);

} // namespace bdd
