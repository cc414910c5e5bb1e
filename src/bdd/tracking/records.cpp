#include "records.hpp"

#include <bdd/core/fs.hpp>
#include <bdd/core/redact.hpp>

#include <nlohmann/json.hpp>

namespace bdd::tracking {

namespace {

using nlohmann::json;

json optional_number(const std::optional<std::uint64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

std::optional<std::uint64_t> read_optional_number(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_unsigned()) {
    return std::nullopt;
  }
  return it->get<std::uint64_t>();
}

json to_json(const Metadata& m) {
  return json{
      {"study_name", m.study_name},
      {"format", m.format},
      {"folder_structure", m.folder_structure},
      {"events_stored", m.events_stored},
      {"remote_total", optional_number(m.remote_total)},
      {"first_download", m.first_download},
      {"last_update", m.last_update},
      {"newest_stored_timestamp",
       m.newest_stored_timestamp.empty() ? json(nullptr) : json(m.newest_stored_timestamp)},
      {"bdd_version", m.bdd_version},
      {"deleted_on_server", m.deleted_on_server},
      {"quarantined", m.quarantined},
  };
}

// The history is an output like any other: no key in it, even if a message carried one.
std::vector<std::string> redacted(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const auto& text : texts) {
    out.push_back(redact_known_secrets(text));
  }
  return out;
}

json to_json(const RunRecord& r) {
  return json{
      {"run_id", r.run_id},
      {"started_at", r.started_at},
      {"ended_at", r.ended_at.empty() ? json(nullptr) : json(r.ended_at)},
      {"type", r.type},
      {"status", r.status},
      {"events_received", r.events_received},
      {"events_added", r.events_added},
      {"duplicates_skipped", r.duplicates_skipped},
      {"pages", r.pages},
      {"bytes", r.bytes},
      {"start_offset", r.start_offset},
      {"remote_total", optional_number(r.remote_total)},
      {"error", r.error.empty() ? json(nullptr) : json(redact_known_secrets(r.error))},
      {"bdd_version", r.bdd_version},
      {"warnings", redacted(r.warnings)},
      {"retries", r.retries},
      {"retry_wait_seconds", r.retry_wait_seconds},
      {"deleted_on_server", r.deleted_on_server},
      {"unusable_events", r.unusable_events},
      {"changed_on_server", r.changed_on_server},
  };
}

std::string string_or_empty(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::uint64_t number_or_zero(const json& object, const char* key) {
  return read_optional_number(object, key).value_or(0);
}

RunRecord run_from_json(const json& j) {
  RunRecord r;
  r.run_id = string_or_empty(j, "run_id");
  r.started_at = string_or_empty(j, "started_at");
  r.ended_at = string_or_empty(j, "ended_at");
  r.type = string_or_empty(j, "type");
  r.status = string_or_empty(j, "status");
  r.events_received = number_or_zero(j, "events_received");
  r.events_added = number_or_zero(j, "events_added");
  r.duplicates_skipped = number_or_zero(j, "duplicates_skipped");
  r.pages = number_or_zero(j, "pages");
  r.bytes = number_or_zero(j, "bytes");
  r.start_offset = number_or_zero(j, "start_offset");
  r.remote_total = read_optional_number(j, "remote_total");
  r.error = string_or_empty(j, "error");
  r.bdd_version = string_or_empty(j, "bdd_version");
  r.deleted_on_server = number_or_zero(j, "deleted_on_server");
  r.unusable_events = number_or_zero(j, "unusable_events");
  r.changed_on_server = number_or_zero(j, "changed_on_server");
  // Absent in histories of older versions; anything but strings is skipped like other bad
  // values, so that one odd entry never makes the whole history unreadable.
  if (auto it = j.find("warnings"); it != j.end() && it->is_array()) {
    for (const auto& warning : *it) {
      if (warning.is_string()) {
        r.warnings.push_back(warning.get<std::string>());
      }
    }
  }
  r.retries = number_or_zero(j, "retries");
  if (auto it = j.find("retry_wait_seconds"); it != j.end() && it->is_number()) {
    r.retry_wait_seconds = it->get<double>();
  }
  return r;
}

Result<std::optional<json>> read_json_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::optional<json>();
  }
  BDD_TRY_ASSIGN(std::string text, fs::read_file(path));
  try {
    return std::optional<json>(json::parse(text));
  } catch (const json::exception& e) {
    return Error(Errc::storage,
                 "\"" + path.string() + "\" is not valid JSON (" + e.what()
                     + "); restore it from a backup or delete it");
  }
}

} // namespace

std::filesystem::path metadata_path(const std::filesystem::path& study_dir) {
  return study_dir / ".metadata.json";
}

std::filesystem::path history_path(const std::filesystem::path& study_dir) {
  return study_dir / ".download_history.json";
}

Result<std::optional<Metadata>> read_metadata(const std::filesystem::path& study_dir) {
  BDD_TRY_ASSIGN(auto document, read_json_file(metadata_path(study_dir)));
  if (!document) {
    return std::optional<Metadata>();
  }
  const json& j = *document;
  if (!j.is_object()) {
    return Error(Errc::storage,
                 "\"" + metadata_path(study_dir).string() + "\" is not a JSON object");
  }
  Metadata m;
  m.study_name = string_or_empty(j, "study_name");
  m.format = string_or_empty(j, "format");
  if (auto it = j.find("folder_structure"); it != j.end() && it->is_array()) {
    for (const auto& level : *it) {
      if (level.is_string()) {
        m.folder_structure.push_back(level.get<std::string>());
      }
    }
  }
  m.events_stored = number_or_zero(j, "events_stored");
  m.remote_total = read_optional_number(j, "remote_total");
  m.first_download = string_or_empty(j, "first_download");
  m.last_update = string_or_empty(j, "last_update");
  m.newest_stored_timestamp = string_or_empty(j, "newest_stored_timestamp");
  m.bdd_version = string_or_empty(j, "bdd_version");
  m.deleted_on_server = number_or_zero(j, "deleted_on_server");
  m.quarantined = number_or_zero(j, "quarantined");
  return std::optional<Metadata>(std::move(m));
}

Result<void> write_metadata(const std::filesystem::path& study_dir, const Metadata& metadata) {
  return fs::write_file_atomic(metadata_path(study_dir), to_json(metadata).dump(2) + "\n");
}

Result<std::vector<RunRecord>> read_history(const std::filesystem::path& study_dir) {
  BDD_TRY_ASSIGN(auto document, read_json_file(history_path(study_dir)));
  std::vector<RunRecord> runs;
  if (!document) {
    return runs;
  }
  if (!document->is_array()) {
    return Error(Errc::storage,
                 "\"" + history_path(study_dir).string() + "\" is not a JSON array of runs");
  }
  for (const auto& entry : *document) {
    if (entry.is_object()) {
      runs.push_back(run_from_json(entry));
    }
  }
  return runs;
}

Result<void> write_history(const std::filesystem::path& study_dir,
                           const std::vector<RunRecord>& runs) {
  json document = json::array();
  for (const auto& run : runs) {
    document.push_back(to_json(run));
  }
  return fs::write_file_atomic(history_path(study_dir), document.dump(2) + "\n");
}

Result<void> save_run(const std::filesystem::path& study_dir, const RunRecord& record) {
  BDD_TRY_ASSIGN(auto runs, read_history(study_dir));
  bool replaced = false;
  for (auto& run : runs) {
    if (run.run_id == record.run_id) {
      run = record;
      replaced = true;
    }
  }
  if (!replaced) {
    runs.push_back(record);
  }
  return write_history(study_dir, runs);
}

} // namespace bdd::tracking
