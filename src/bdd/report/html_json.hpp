#pragma once

// Reading the report document as untrusted input: a missing key, a null or a value of the wrong
// type is an answer (nullptr, nullopt, an empty array), never an exception. report.html's
// renderer reads the document through these only.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bdd::report {

using Json = nlohmann::ordered_json;

// The member `key` of `value`; nullptr when `value` is no object or has no such member.
const Json* member(const Json& value, std::string_view key);

// `value` when it is an array, else an empty array (also for nullptr).
const Json& elements(const Json* value);

// The text of a string; nullopt for anything else.
std::optional<std::string_view> text_of(const Json* value);

// A count: an integer >= 0, or a float with such an integral value below 2^53; nullopt for
// anything else.
std::optional<std::uint64_t> count_of(const Json* value);

// A finite number; nullopt for anything else.
std::optional<double> number_of(const Json* value);

// How a table cell or a figure shows a value: "—" when it is absent or null, "?" when it has
// the wrong type. These are HTML already (no escaping needed).
inline constexpr std::string_view k_absent = "\u2014";
inline constexpr std::string_view k_wrong_type = "?";

// The HTML of a value that should be a string, `max_code_points` at most (see append_html).
std::string html_text(const Json* value, std::size_t max_code_points);

// The HTML of a value that should be a count ("1,234").
std::string html_count(const Json* value);

} // namespace bdd::report
