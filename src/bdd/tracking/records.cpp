#include "records.hpp"

#include <bdd/core/fs.hpp>
#include <bdd/core/redact.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

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
      {"partition_naming", m.partition_naming},
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

std::string string_or_empty(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The strings of the array at `key`; other elements are skipped like other bad values, and a
// missing or mistyped member (older histories have no "warnings") is no strings.
std::vector<std::string> strings_or_empty(const json& object, const char* key) {
  std::vector<std::string> strings;
  if (auto it = object.find(key); it != object.end() && it->is_array()) {
    for (const auto& element : *it) {
      if (element.is_string()) {
        strings.push_back(element.get<std::string>());
      }
    }
  }
  return strings;
}

std::uint64_t number_or_zero(const json& object, const char* key) {
  return read_optional_number(object, key).value_or(0);
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

// Only runs of the same kind fold: a repair or a --fresh rebuild that found nothing is still
// worth its own line.
bool foldable(const RunRecord& run) {
  return is_plain_no_op(run) && (run.type == "incremental" || run.type == "full");
}

// `later` folded into `earlier`: counts summed, the state-like values (where the run started, the
// server's total, the version) of the later run.
void fold(RunRecord& earlier, const RunRecord& later) {
  earlier.runs += later.runs;
  earlier.last_started_at = later.runs > 1 ? later.last_started_at : later.started_at;
  earlier.ended_at = later.ended_at;
  earlier.events_received += later.events_received;
  earlier.duplicates_skipped += later.duplicates_skipped;
  earlier.pages += later.pages;
  earlier.bytes += later.bytes;
  earlier.retries += later.retries;
  earlier.retry_wait_seconds += later.retry_wait_seconds;
  earlier.start_offset = later.start_offset;
  earlier.remote_total = later.remote_total;
  earlier.deleted_on_server = later.deleted_on_server;
  earlier.bdd_version = later.bdd_version;
}

// Oldest first, whatever they were: what `bdd log` shows is then always one unbroken stretch of
// time, the newest, after the first download.
void prune(std::vector<RunRecord>& runs) {
  if (runs.size() > k_max_history_records && runs.size() > 2) {
    runs.erase(runs.begin() + 1,
               runs.begin() + 1 + static_cast<std::ptrdiff_t>(runs.size() - k_max_history_records));
  }
}

} // namespace

std::string counted(std::uint64_t count, std::string_view noun) {
  std::string text = std::to_string(count);
  text += ' ';
  text += noun;
  if (count != 1) {
    text += 's';
  }
  return text;
}

nlohmann::ordered_json run_to_json(const RunRecord& r) {
  using ordered = nlohmann::ordered_json;
  const auto or_null = [](const std::string& text) {
    return text.empty() ? ordered(nullptr) : ordered(text);
  };
  return ordered{
      {"run_id", r.run_id},
      {"started_at", r.started_at},
      {"ended_at", or_null(r.ended_at)},
      {"type", r.type},
      {"status", r.status},
      {"events_received", r.events_received},
      {"events_added", r.events_added},
      {"duplicates_skipped", r.duplicates_skipped},
      {"pages", r.pages},
      {"bytes", r.bytes},
      {"start_offset", r.start_offset},
      {"remote_total", r.remote_total ? ordered(*r.remote_total) : ordered(nullptr)},
      {"error", or_null(redact_known_secrets(r.error))},
      {"bdd_version", r.bdd_version},
      {"warnings", redacted(r.warnings)},
      {"retries", r.retries},
      {"retry_wait_seconds", r.retry_wait_seconds},
      {"deleted_on_server", r.deleted_on_server},
      {"unusable_events", r.unusable_events},
      {"changed_on_server", r.changed_on_server},
      {"runs", r.runs},
      {"last_started_at", or_null(r.last_started_at)},
  };
}

RunRecord run_from_json(const json& j) {
  RunRecord r;
  if (!j.is_object()) {
    return r;
  }
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
  r.warnings = strings_or_empty(j, "warnings");
  r.retries = number_or_zero(j, "retries");
  if (auto it = j.find("retry_wait_seconds"); it != j.end() && it->is_number()) {
    r.retry_wait_seconds = it->get<double>();
  }
  r.runs = std::max<std::uint64_t>(1, number_or_zero(j, "runs"));
  r.last_started_at = string_or_empty(j, "last_started_at");
  return r;
}

bool is_plain_no_op(const RunRecord& run) {
  return run.status == "no_new_events" && run.warnings.empty() && run.error.empty()
         && run.events_added == 0 && run.changed_on_server == 0 && run.unusable_events == 0;
}

void add_run(std::vector<RunRecord>& runs, const RunRecord& run) {
  // The record of a run in progress is the newest, or close to it: search from the end.
  auto same = std::find_if(
      runs.rbegin(), runs.rend(), [&run](const RunRecord& r) { return r.run_id == run.run_id; });
  const bool newest = same == runs.rend() || same == runs.rbegin();
  if (same != runs.rend()) {
    *same = run;
  } else {
    runs.push_back(run);
  }
  if (newest && runs.size() >= 2 && foldable(runs.back())) {
    RunRecord& previous = runs[runs.size() - 2];
    if (foldable(previous) && previous.type == runs.back().type) {
      fold(previous, runs.back());
      runs.pop_back();
    }
  }
  prune(runs);
}

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
  m.folder_structure = strings_or_empty(j, "folder_structure");
  if (auto naming = string_or_empty(j, "partition_naming"); !naming.empty()) {
    m.partition_naming = std::move(naming);
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
  // One record per line: a third of the indented size, still one JSON array, and a line per run
  // for grep and tail.
  std::string text = "[";
  for (const auto& run : runs) {
    text += text.size() == 1 ? "\n" : ",\n";
    text += run_to_json(run).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  text += "\n]\n";
  return fs::write_file_atomic(history_path(study_dir), text);
}

Result<void> save_run(const std::filesystem::path& study_dir, const RunRecord& record) {
  BDD_TRY_ASSIGN(auto runs, read_history(study_dir));
  add_run(runs, record);
  return write_history(study_dir, runs);
}

} // namespace bdd::tracking
