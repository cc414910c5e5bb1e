#pragma once

#include <bdd/core/result.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::exporting {

// The name of the provenance record inside an export's zip.
inline constexpr std::string_view k_manifest_name = "MANIFEST.json";

// One exported file as `--zip` packs it.
struct ZipInput {
  std::filesystem::path source; // the file on disk
  std::string name;             // its name inside the zip (no '/', not MANIFEST.json)
  std::uint64_t rows = 0;       // the events it holds
};

// What MANIFEST.json records about an export besides its files: enough to say years later where
// a shared dataset came from and to check it with `sha256sum`.
struct Manifest {
  std::string bdd_version;
  std::string study;
  std::string api_base_url; // as configured: `write_export_zip` removes credentials and query
  std::chrono::system_clock::time_point exported_at;
  // The filters and options of the export as JSON objects (text), recorded as they are.
  std::string filters = "{}";
  std::string options = "{}";
  // The local copy the export read (from its .metadata.json).
  std::uint64_t events_stored = 0;
  std::optional<std::uint64_t> remote_total;
  std::string last_download; // UTC ISO-8601, "" if unknown
};

// `url` fit for a manifest: its user information and every secret `redact` knows removed, and
// its query string and fragment dropped (an API key may travel there).
std::string public_base_url(std::string_view url);

// The text of MANIFEST.json (pretty JSON, keys in a fixed order, a final newline):
//   {"manifest_version": 1, "bdd_version", "study", "api_base_url", "exported_at",
//    "filters", "options",
//    "local_copy": {"events_stored", "remote_total" (null if unknown), "last_download"},
//    "files": [{"name", "rows", "bytes", "sha256"}, ...]}
// `files` pairs each input with its size and hex SHA-256.
struct ManifestFile {
  std::string name;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::string sha256;
};
std::string manifest_json(const Manifest& manifest, const std::vector<ManifestFile>& files);

// Write the zip `path` holding `inputs` (deflated, under their names) and MANIFEST.json, every
// entry dated `manifest.exported_at`, and fsync it. `path` is the temporary file of an
// `OutputFile` (libzip writes beside it and renames over it), which the caller then renames into
// place. Each input is hashed (SHA-256) for the manifest. On failure `path` is removed. Fails
// with Errc::storage naming the file, Errc::internal for an input name that cannot be an entry.
Result<void> write_export_zip(const std::filesystem::path& path,
                              const Manifest& manifest,
                              const std::vector<ZipInput>& inputs);

} // namespace bdd::exporting
