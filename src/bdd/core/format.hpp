#pragma once

#include <bdd/core/result.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bdd {

// A storage format: what `storage.format` names and `.metadata.json` records. The decisions
// that depend on the format read its properties below, never its name, so that a new format
// is one row here, one in storage's backend table (its writer and reader) and its two files.
// The table lives in core because config validates names against it and storage builds on it.
enum class Format { json, jsonl, csv, sqlite, parquet };

// How a format keeps a study's events on disk.
enum class FormatStorage {
  // Leaf files `events.<extension>` that commits append to: the download state records each
  // file's size and SHA-256, an interrupted commit is rolled back by cutting the files back to
  // their journaled sizes, and `verify` compares them against the manifest.
  leaf_files,
  // Immutable part files `part-<run>-<seq>.<extension>` in each leaf folder: a commit adds one
  // new part to every leaf it touches (journaled with size 0, so rollback removes it), never
  // changes one, and compaction replaces a leaf's parts by one (see ops/compaction.hpp). A
  // leaf's rows are its parts' rows in the order of the parts' names.
  part_files,
  // One database file `events.<extension>` at the study's root that commits to on its own
  // (its transactions are atomic): no journal, no sizes, no manifest.
  database,
};

struct FormatInfo {
  Format format;
  std::string_view name;      // in configs, `.metadata.json`, messages
  std::string_view extension; // of the data files: `events.<extension>`, `part-*.<extension>`
  FormatStorage storage;
  bool folder_structure; // `storage.folder_structure` splits the data into folders of leaves
};

// Every format, in the order help texts and messages list them.
std::span<const FormatInfo> formats();

const FormatInfo& format_info(Format format);

// The format called `name`, or nullopt.
std::optional<Format> find_format(std::string_view name);

// The format called `name`; Errc::config naming the valid ones for any other name.
Result<Format> parse_format(std::string_view name);

// The properties of the format `name` names. For a name no format has (a hand-edited
// `.metadata.json`; configs are validated) the properties of leaf files in folders, the layout
// that reads as "nothing found" rather than as a database that must exist.
const FormatInfo& format_info(std::string_view name);

// "json, jsonl, csv, sqlite or parquet"
std::string format_list();

// Whether `file_name` (no folder) names a data file of `info`'s format: `events.<extension>`,
// or for part files `part-<anything>.<extension>`.
bool is_data_file_name(const FormatInfo& info, std::string_view file_name);

// Files stored as immutable parts (FormatStorage::part_files) and leaf files that commits
// append to are both "leaf files" of a folder_structure: sizes and hashes in the manifest,
// journaled commits. Only a database is not.
inline bool has_leaf_files(const FormatInfo& info) {
  return info.storage != FormatStorage::database;
}

} // namespace bdd
