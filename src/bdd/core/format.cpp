#include "format.hpp"

#include <array>

namespace bdd {

namespace {

// clang-format off
constexpr std::array k_formats = {
    FormatInfo{Format::json,   "json",   "json",   FormatStorage::leaf_files, true},
    FormatInfo{Format::jsonl,  "jsonl",  "jsonl",  FormatStorage::leaf_files, true},
    FormatInfo{Format::csv,    "csv",    "csv",    FormatStorage::leaf_files, true},
    FormatInfo{Format::sqlite, "sqlite", "sqlite", FormatStorage::database,   false},
    FormatInfo{Format::parquet, "parquet", "parquet", FormatStorage::part_files, true},
};
// clang-format on

constexpr FormatInfo k_unknown{Format::json, "", "", FormatStorage::leaf_files, true};

} // namespace

std::span<const FormatInfo> formats() {
  return k_formats;
}

const FormatInfo& format_info(Format format) {
  for (const FormatInfo& info : k_formats) {
    if (info.format == format) {
      return info;
    }
  }
  return k_unknown; // unreachable: every enumerator has a row
                    // (tests/unit/core/test_core_format.cpp)
}

std::optional<Format> find_format(std::string_view name) {
  for (const FormatInfo& info : k_formats) {
    if (info.name == name) {
      return info.format;
    }
  }
  return std::nullopt;
}

Result<Format> parse_format(std::string_view name) {
  if (auto format = find_format(name)) {
    return *format;
  }
  return Error(Errc::config,
               "unknown storage format \"" + std::string(name) + "\" (use " + format_list() + ")");
}

const FormatInfo& format_info(std::string_view name) {
  const auto format = find_format(name);
  return format ? format_info(*format) : k_unknown;
}

std::string format_list() {
  std::string out;
  for (std::size_t i = 0; i < k_formats.size(); ++i) {
    if (i > 0) {
      out += i + 1 == k_formats.size() ? " or " : ", ";
    }
    out += k_formats[i].name;
  }
  return out;
}

bool is_data_file_name(const FormatInfo& info, std::string_view file_name) {
  if (info.extension.empty()) {
    return false;
  }
  const std::string_view stem = info.storage == FormatStorage::part_files ? "part-" : "events";
  const bool exact = info.storage != FormatStorage::part_files;
  if (!file_name.starts_with(stem) || !file_name.ends_with(info.extension)) {
    return false;
  }
  const std::size_t middle = file_name.size() - stem.size() - info.extension.size();
  if (file_name.size() < stem.size() + info.extension.size() + 1
      || file_name[file_name.size() - info.extension.size() - 1] != '.') {
    return false;
  }
  return exact ? middle == 1 : middle > 1;
}

} // namespace bdd
