#pragma once

#include <bdd/core/result.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

// The `--json` output of the commands. Field names are part of bdd's interface (README.md,
// "Scripting"): add fields, never rename or remove them.
namespace bdd::cli {

// A path as scripts want it: absolute and normalised.
std::string absolute_path(const std::filesystem::path& path);

// `value` or null.
nlohmann::ordered_json or_null(const std::optional<std::uint64_t>& value);
nlohmann::ordered_json or_null(const std::string& value); // null when empty

// Print `value` as one line on stdout (invalid UTF-8 replaced, never throws).
void print_json(const nlohmann::ordered_json& value);

// With `json` on and `result` a failure, print `{"error": {"kind": ..., "message": ...}}` on
// stdout; returns `result` unchanged so that the error is still reported once on stderr.
Result<int> with_json_error(bool json, Result<int> result);

} // namespace bdd::cli
