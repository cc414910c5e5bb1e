#pragma once

#include "process.hpp"
#include "temp_dir.hpp"

#include <fake_api/fake_api.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace bdd::test {

// An end-to-end test bench: a fake Behaverse API on 127.0.0.1 with one study, and a private
// working directory holding `study_configs/<study>.json` that points at it. `bdd()` runs the real
// binary there with the study's key in BEHAVERSE_API_KEY_<STUDY> (and nothing else from the
// runner's environment).
class Workspace {
public:
  static constexpr const char* k_study = "e2e-study";
  // Recognisable, so tests can assert it never leaks into output or files.
  static constexpr const char* k_key = "SECRET-e2e-key-7f3a9c";

  // `config` is merged over the defaults written to the study config (see workspace.cpp):
  // format jsonl, folder_structure [], page size 100, 3 concurrent requests, retry_delay 0.01.
  explicit Workspace(nlohmann::json config = nlohmann::json::object(),
                     fake_api::ServerOptions server_options = {});

  fake_api::FakeApi& server() { return m_server; }
  const fake_api::FakeApi& server() const { return m_server; }
  const std::filesystem::path& dir() const { return m_dir.path(); }
  std::filesystem::path study_dir() const;
  // The study's lock file, `<data>/.<study>.lock`.
  std::filesystem::path lock_path() const;
  // `study_configs/<study>.json` and its content as last written.
  std::filesystem::path config_path() const;
  const nlohmann::json& config() const { return m_config; }
  // storage.default_format of the study config.
  std::string format() const;
  // storage.folder_structure of the study config is not empty.
  bool nested() const;

  // Rewrite the study config with `config` merged over the current one.
  void update_config(const nlohmann::json& config);
  // Append `count` generated events to the server's study; returns them as served.
  std::vector<std::string> add_events(std::size_t count, bool nasty = false);

  // Run `bdd <args>` in the workspace directory.
  ProcessResult bdd(const std::vector<std::string>& args,
                    std::map<std::string, std::string> extra_env = {}) const;
  ProcessOptions process_options(std::map<std::string, std::string> extra_env = {}) const;
  // Start `bdd <args>` in the background in the workspace directory, as `bdd()` would run it.
  std::unique_ptr<BackgroundProcess>
  start_bdd(const std::vector<std::string>& args,
            std::map<std::string, std::string> extra_env = {}) const;

  // The server's events as parsed JSON, in server order.
  std::vector<nlohmann::json> server_events() const;
  // The ids of the server's events, in server order (normalised as bdd does, shown as the data
  // files show them: model::display_id).
  std::vector<std::string> server_ids() const;
  // Every event stored locally, as normalised JSON objects, in file order, read from the data
  // files of whatever format the study was written in (json, jsonl, csv or sqlite).
  std::vector<nlohmann::json> stored_events() const;
  // The ids of `stored_events()`.
  std::vector<std::string> stored_ids() const;
  // The study's data files ("events.<format>" anywhere under `study_dir()`), sorted.
  std::vector<std::filesystem::path> data_files() const;
  // `.metadata.json` and `.download_history.json` of the study, parsed; null if missing.
  nlohmann::json metadata() const;
  nlohmann::json history() const;

  // Every regular file under the workspace directory (data, state, metadata, logs).
  std::vector<std::filesystem::path> all_files() const;

private:
  TempDir m_dir;
  fake_api::FakeApi m_server;
  nlohmann::json m_config;
};

// A study config's storage section: `format` (storage.default_format) and `folders`
// (storage.folder_structure), to pass to `Workspace` or `update_config`.
nlohmann::json layout(const std::string& format, const nlohmann::json& folders);

// The events of one data file, as normalised JSON objects in file order; the format is taken
// from the extension (.json, .jsonl, .csv, .sqlite). Throws if the file is not valid.
std::vector<nlohmann::json> read_events(const std::filesystem::path& path);

// The ids of events given as JSON text, as the fake server serves them (e.g. the `added` and
// `removed` events of a fake_api::AppliedMutation), normalised as bdd does.
std::vector<std::string> event_ids(const std::vector<std::string>& events);

// Parse RFC 4180 CSV text into rows of fields.
std::vector<std::vector<std::string>> parse_csv(const std::string& text);

} // namespace bdd::test
