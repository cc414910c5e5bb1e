#include "workspace.hpp"

#include <bdd/config/config.hpp>
#include <bdd/model/event.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bdd::test {

namespace {

using nlohmann::json;

json default_config(const std::string& base_url) {
  return json{
      {"study_name", Workspace::k_study},
      {"api",
       {{"base_url", base_url},
        {"api_key", "${" + config::study_key_variable(Workspace::k_study) + "}"},
        {"timeout", 10},
        {"max_retries", 5},
        {"retry_delay", 0.01}}},
      {"download", {{"default_page_size", 100}, {"max_concurrent_requests", 3}}},
      {"storage",
       {{"data_directory", "data"},
        {"default_format", "jsonl"},
        {"folder_structure", json::array()}}},
  };
}

std::vector<std::filesystem::path> files_named(const std::filesystem::path& root,
                                               const std::string& name) {
  std::vector<std::filesystem::path> found;
  if (!std::filesystem::exists(root)) {
    return found;
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().filename() == name) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<json> read_jsonl(const std::filesystem::path& path) {
  std::vector<json> events;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      events.push_back(json::parse(line));
    }
  }
  return events;
}

std::vector<json> read_csv(const std::filesystem::path& path) {
  auto rows = parse_csv(read_text(path));
  std::vector<json> events;
  if (rows.empty()) {
    return events;
  }
  const auto& header = rows.front();
  for (std::size_t r = 1; r < rows.size(); ++r) {
    json event = json::object();
    for (std::size_t c = 0; c < header.size() && c < rows[r].size(); ++c) {
      event[header[c]] = rows[r][c];
    }
    events.push_back(event);
  }
  return events;
}

std::vector<json> read_sqlite(const std::filesystem::path& path) {
  std::vector<json> events;
  SQLite::Database db(path.string(), SQLite::OPEN_READONLY);
  SQLite::Statement query(db,
                          "SELECT id, user_id, event_type, element_id, timestamp, "
                          "stored_timestamp, page_url, data FROM events ORDER BY rowid");
  while (query.executeStep()) {
    json event = json::object();
    for (int c = 0; c < query.getColumnCount(); ++c) {
      auto column = query.getColumn(c);
      event[query.getColumnName(c)] = column.isNull() ? json(nullptr) : json(column.getString());
    }
    events.push_back(event);
  }
  return events;
}

} // namespace

Workspace::Workspace(json config, fake_api::ServerOptions server_options)
    : m_server(server_options) {
  m_server.start();
  m_server.add_study({k_study, k_key, false});
  m_config = default_config(m_server.base_url());
  std::filesystem::create_directories(dir() / "study_configs");
  update_config(config);
}

std::filesystem::path Workspace::study_dir() const {
  std::filesystem::path data = m_config["storage"]["data_directory"].get<std::string>();
  return (data.is_absolute() ? data : dir() / data) / k_study;
}

std::filesystem::path Workspace::lock_path() const {
  return study_dir().parent_path() / (std::string(".") + k_study + ".lock");
}

nlohmann::json layout(const std::string& format, const nlohmann::json& folders) {
  return {{"storage", {{"default_format", format}, {"folder_structure", folders}}}};
}

void Workspace::update_config(const json& config) {
  m_config.merge_patch(config);
  m_dir.write(std::string("study_configs/") + k_study + ".json", m_config.dump(2));
}

std::vector<std::string> Workspace::add_events(std::size_t count, bool nasty) {
  fake_api::GeneratorOptions options;
  options.count = count;
  options.users = 40;
  options.days = 5;
  options.nasty = nasty;
  options.nasty_rate = nasty ? 0.2 : 0.05;
  return m_server.append_generated(k_study, options);
}

ProcessOptions Workspace::process_options(std::map<std::string, std::string> extra_env) const {
  ProcessOptions options;
  options.cwd = dir();
  options.env = std::move(extra_env);
  options.env.emplace(config::study_key_variable(k_study), k_key);
  return options;
}

ProcessResult Workspace::bdd(const std::vector<std::string>& args,
                             std::map<std::string, std::string> extra_env) const {
  return run_bdd(args, process_options(std::move(extra_env)));
}

std::vector<json> Workspace::server_events() const {
  std::vector<json> events;
  for (const auto& text : m_server.events(k_study)) {
    events.push_back(json::parse(text));
  }
  return events;
}

std::vector<std::string> Workspace::server_ids() const {
  std::vector<std::string> ids;
  for (const auto& event : server_events()) {
    ids.push_back(std::string(model::display_id(model::normalise(event).id))); // as files show it
  }
  return ids;
}

std::vector<json> Workspace::stored_events() const {
  std::vector<json> events;
  for (const auto& path : data_files()) {
    auto part = read_events(path);
    events.insert(events.end(), part.begin(), part.end());
  }
  return events;
}

std::vector<std::string> Workspace::stored_ids() const {
  std::vector<std::string> ids;
  for (const auto& event : stored_events()) {
    ids.push_back(event.at("id").get<std::string>());
  }
  return ids;
}

std::filesystem::path Workspace::config_path() const {
  return dir() / "study_configs" / (std::string(k_study) + ".json");
}

std::string Workspace::format() const {
  return m_config["storage"]["default_format"].get<std::string>();
}

bool Workspace::nested() const {
  return !m_config["storage"]["folder_structure"].empty();
}

std::unique_ptr<BackgroundProcess>
Workspace::start_bdd(const std::vector<std::string>& args,
                     std::map<std::string, std::string> extra_env) const {
  return std::make_unique<BackgroundProcess>(args, process_options(std::move(extra_env)));
}

std::vector<std::filesystem::path> Workspace::data_files() const {
  return files_named(study_dir(), "events." + format());
}

json Workspace::metadata() const {
  auto path = study_dir() / ".metadata.json";
  return std::filesystem::exists(path) ? json::parse(read_text(path)) : json();
}

json Workspace::history() const {
  auto path = study_dir() / ".download_history.json";
  return std::filesystem::exists(path) ? json::parse(read_text(path)) : json();
}

std::vector<std::filesystem::path> Workspace::all_files() const {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir())) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  return files;
}

std::vector<json> read_events(const std::filesystem::path& path) {
  auto extension = path.extension().string();
  if (extension == ".sqlite") {
    return read_sqlite(path);
  }
  if (extension == ".jsonl") {
    return read_jsonl(path);
  }
  if (extension == ".csv") {
    return read_csv(path);
  }
  if (extension == ".json") {
    const json document = json::parse(read_text(path)); // an array, or {"metadata", "events"}
    return (document.is_array() ? document : document.at("events")).get<std::vector<json>>();
  }
  throw std::invalid_argument("not a data file: " + path.string());
}

std::vector<std::string> event_ids(const std::vector<std::string>& events) {
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (const auto& text : events) {
    ids.push_back(model::normalise(json::parse(text)).id);
  }
  return ids;
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      field_started = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;
    } else if (c == '\n') {
      row.push_back(field);
      rows.push_back(row);
      row.clear();
      field.clear();
      field_started = false;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (field_started || !row.empty()) {
    row.push_back(field);
    rows.push_back(row);
  }
  return rows;
}

} // namespace bdd::test
