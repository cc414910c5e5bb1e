#pragma once

#include <bdd/core/result.hpp>
#include <bdd/tracking/state.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::tracking {

// A data file's manifest entry after a commit.
struct FileHash {
  std::string sha256;   // hex SHA-256 of the file's first `size` bytes
  std::string midstate; // `Sha256::export_state()` after its first `size - tail_size` bytes
};

// The hashes of `path` after a commit left it `size` bytes long, reading only the bytes that
// `previous_midstate` does not cover: commits append, so hashing stays proportional to what was
// written. The last `tail_size` bytes (JSON's closing "\n]}\n", which the next commit overwrites)
// are hashed into the digest but not into the midstate. An empty or unusable midstate (a v1
// state, a file hashed past `size - tail_size`) restarts from the first byte. Fails with
// Errc::storage naming the file if it cannot be read or is shorter than `size`.
Result<FileHash> extend_file_hash(const std::filesystem::path& path,
                                  std::string_view previous_midstate,
                                  std::uint64_t size,
                                  std::uint64_t tail_size);

// `extend_file_hash` without reading the file: the commit wrote `pieces` at `offset`, and
// `previous_midstate` covers exactly the bytes before it (or is empty and `offset` is 0, for a
// new file). nullopt when it does not (a v1 state, a file rewritten from further back): then
// read the file with `extend_file_hash`.
std::optional<FileHash> extend_hash_in_memory(std::string_view previous_midstate,
                                              std::uint64_t offset,
                                              const std::vector<std::string_view>& pieces,
                                              std::uint64_t tail_size);

// The hex SHA-256 of the first `size` bytes of `path` (all of it if `size` is larger). Fails with
// Errc::storage naming the file if it cannot be read.
Result<std::string> hash_file_prefix(const std::filesystem::path& path, std::uint64_t size);

// `<study_dir>/.bdd/manifest.sha256`.
std::filesystem::path manifest_path(const std::filesystem::path& study_dir);

// Write the manifest in `sha256sum` format, one `<hex>  <path relative to study_dir>` line per
// file of `files` that has a hash, so that `cd <study_dir> && sha256sum -c .bdd/manifest.sha256`
// checks the data. Replaces the file atomically.
Result<void> write_manifest(const std::filesystem::path& study_dir,
                            const std::vector<FileRecord>& files);

} // namespace bdd::tracking
