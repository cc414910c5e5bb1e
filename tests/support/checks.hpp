#pragma once

#include "workspace.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::test {

// `ids` in first-occurrence order without repeats.
std::vector<std::string> unique_in_order(const std::vector<std::string>& ids);

// The ids that occur more than once in `ids`, each listed once.
std::vector<std::string> repeated(const std::vector<std::string>& ids);

// A short human-readable account of how `stored` differs from `expected` (counts, the first few
// missing and extra ids), for INFO().
std::string describe_difference(const std::vector<std::string>& expected,
                                const std::vector<std::string>& stored);

bool contains(std::string_view haystack, std::string_view needle);

// The number of lines of `text` (a final line without '\n' counts).
std::size_t line_count(std::string_view text);

// The lines of `text` without their '\n', empty ones included (`line_count` of them).
std::vector<std::string> lines_of(std::string_view text);

// A UTC ISO-8601 time with a trailing 'Z', e.g. "2025-11-18T10:00:01Z" or with fractions.
bool is_utc_time(const nlohmann::json& value);

// Catch assertions that the study in `workspace` holds exactly the server's events: the same ids,
// none twice, in server order in every data file (a flat layout's one file holds them all in
// order; a nested layout's files each hold an ordered subsequence).
void check_exact_copy(const Workspace& workspace);

// Catch assertions that every file under the workspace is the study config, the study's lock
// file, or lies inside the study folder, and that no path component is "..".
void check_files_confined(const Workspace& workspace);

// Catch assertion that `secret` occurs in no file under `dir` (binary files included).
void check_secret_absent_from_files(const std::filesystem::path& dir, std::string_view secret);

// What `text_field` returns for a null, missing or empty field.
inline constexpr const char* k_null_field = "(null)";

// A normalised field of a stored event as text (non-strings as compact JSON): `k_null_field` for
// JSON null, a missing key, and "" (CSV cannot tell an empty field from a missing one).
std::string text_field(const nlohmann::json& event, const std::string& key);

// The `data` field of a stored event as JSON (CSV and SQLite store it as text).
nlohmann::json data_field(const nlohmann::json& event);

// An flock on a study's lock file (`Workspace::lock_path`) held by the test, as a download
// (`LOCK_EX`) or an export or verify (`LOCK_SH`) holds it; `holder`, if not empty, is written
// into it as a download records itself.
class HeldLock {
public:
  HeldLock(const std::filesystem::path& path, int operation, const std::string& holder);
  HeldLock(const HeldLock&) = delete;
  HeldLock& operator=(const HeldLock&) = delete;
  ~HeldLock() { release(); }
  void release();

private:
  int m_fd = -1;
};

// Poll `condition` every 10 ms until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

} // namespace bdd::test
