#include "verify.hpp"

#include "connection.hpp"
#include "study_paths.hpp"

#include <bdd/core/file_lock.hpp>
#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/model/event.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/tracking/id_index.hpp>
#include <bdd/tracking/manifest.hpp>
#include <bdd/tracking/records.hpp>
#include <bdd/tracking/state.hpp>

#include <algorithm>
#include <limits>
#include <map>

namespace bdd::ops {

namespace {

namespace stdfs = std::filesystem;

// Findings listed one by one per kind; beyond that, one finding gives the count. Keeps the
// report (and memory) small when a whole study is damaged the same way.
constexpr std::size_t k_listed_per_kind = 50;

// An identity key as users see it (model::display_id): findings and messages never show the
// key's internal prefix.
std::string shown(std::string_view id) {
  return std::string(model::display_id(id));
}

std::string place(const tracking::IdPlace& where) {
  return where.file.empty() ? std::string("the server")
                            : where.file + (where.line ? ":" + std::to_string(where.line) : "");
}

class Verifier {
public:
  Verifier(const config::Config& config, const VerifyOptions& options, stdfs::path study_dir)
      : m_config(config),
        m_options(options),
        m_dir(std::move(study_dir)) {
    m_report.study_dir = m_dir;
  }

  Result<VerifyReport> run() {
    BDD_TRY_ASSIGN(auto metadata, tracking::read_metadata(m_dir));
    if (!metadata) {
      return Error(Errc::usage,
                   "no local data for study \"" + m_config.study_name + "\" in \"" + m_dir.string()
                       + "\" (run `bdd download " + m_config.study_name + "`)");
    }
    m_format = metadata->format;
    BDD_TRY_ASSIGN(m_state, tracking::open_state(m_dir));
    BDD_TRY_ASSIGN(auto pending, m_state->pending());
    if (!pending.empty()) {
      add({"unfinished_commit",
           "",
           0,
           "",
           "an interrupted download left an unfinished commit (" + std::to_string(pending.size())
               + " files to check; the next download cuts each back to its recorded size)"});
    }
    BDD_TRY_ASSIGN(m_ids, tracking::make_id_index(m_dir / ".bdd" / "verify-ids.sqlite"));
    BDD_TRY(check_files());
    BDD_TRY(check_counts(metadata->events_stored));
    BDD_TRY(check_quarantine());
    if (m_options.remote) {
      BDD_TRY(check_remote());
    }
    m_ids.reset();
    summarise_overflow();
    return std::move(m_report);
  }

private:
  void add(Finding finding) {
    std::size_t& count = m_per_kind[finding.kind];
    if (++count <= k_listed_per_kind) {
      m_report.findings.push_back(std::move(finding));
    } else if (finding.error) {
      m_overflow_is_error[finding.kind] = true;
    }
  }

  // `count` findings of `kind` beyond the `listed` ones already added.
  void add_unlisted(const std::string& kind, std::uint64_t count, std::size_t listed, bool error) {
    if (count > listed) {
      m_per_kind[kind] += count - listed;
      m_overflow_is_error[kind] = m_overflow_is_error[kind] || error;
    }
  }

  void summarise_overflow() {
    for (const auto& [kind, count] : m_per_kind) {
      if (count > k_listed_per_kind) {
        Finding more{kind,
                     "",
                     0,
                     "",
                     std::to_string(count - k_listed_per_kind) + " more findings of this kind"};
        more.error = m_overflow_is_error[kind];
        m_report.findings.push_back(std::move(more));
      }
    }
  }

  // Sizes and hashes against the state's manifest, then every event of every file.
  Result<void> check_files() {
    BDD_TRY_ASSIGN(auto on_disk, storage::list_data_files(m_dir, m_format));
    std::map<std::string, tracking::FileRecord> recorded;
    if (format_info(m_format).storage == FormatStorage::database) {
      BDD_TRY(check_database(on_disk));
    } else {
      BDD_TRY_ASSIGN(auto files, m_state->files());
      for (auto& file : files) {
        recorded.emplace(file.path, std::move(file));
      }
    }
    for (const auto& [path, file] : recorded) {
      if (!std::binary_search(on_disk.begin(), on_disk.end(), path)) {
        add({"missing",
             path,
             0,
             "",
             "the data file is missing (" + std::to_string(file.size) + " bytes committed)"});
      }
    }
    for (const auto& path : on_disk) {
      auto it = recorded.find(path);
      if (format_info(m_format).storage == FormatStorage::leaf_files) {
        if (it == recorded.end()) {
          add({"untracked", path, 0, "", "a data file that no download recorded"});
        } else {
          BDD_TRY(check_manifest(it->second));
        }
      }
      BDD_TRY(read_events(path));
    }
    return ok();
  }

  Result<void> check_database(const std::vector<std::string>& on_disk) {
    BDD_TRY_ASSIGN(auto cursor, m_state->cursor());
    if (on_disk.empty() && cursor.events_stored > 0) {
      add({"missing", "events.sqlite", 0, "", "the database is missing"});
    }
    for (const auto& path : on_disk) {
      for (auto& problem : storage::sqlite_integrity_problems(m_dir / path)) {
        add({"integrity", path, 0, "", "integrity check: " + problem});
      }
    }
    return ok();
  }

  Result<void> check_manifest(const tracking::FileRecord& file) {
    const stdfs::path path = m_dir / file.path;
    const std::uint64_t size = fs::file_size_or_zero(path);
    if (size != file.size) {
      add({"size",
           file.path,
           0,
           "",
           std::to_string(size) + " bytes instead of the " + std::to_string(file.size)
               + " committed (appended to, cut short or edited)"});
      return ok();
    }
    if (file.sha256.empty()) {
      return ok(); // recorded before bdd kept hashes; the next commit to it adds one
    }
    BDD_TRY_ASSIGN(auto sha256, tracking::hash_file_prefix(path, size));
    if (sha256 != file.sha256) {
      add({"checksum",
           file.path,
           0,
           "",
           "SHA-256 " + sha256 + " instead of the committed " + file.sha256
               + " (edited or corrupted on disk)"});
    }
    return ok();
  }

  Result<void> read_events(const std::string& relative) {
    m_report.files += 1;
    auto reader = storage::open_reader(m_format, m_dir / relative);
    if (!reader) {
      add({"parse", relative, 0, "", reader.error().message});
      return ok();
    }
    for (;;) {
      auto record = (*reader)->next();
      if (!record) {
        add({"parse", relative, (*reader)->error_line(), "", record.error().message});
        return ok();
      }
      if (!*record) {
        return ok();
      }
      m_report.events += 1;
      const std::string& id = (*record)->id;
      BDD_TRY_ASSIGN(auto first, m_ids->add(id, {relative, (*record)->line}));
      if (first) {
        add({"duplicate",
             relative,
             (*record)->line,
             shown(id),
             "event " + model::quoted_id(id) + " is also stored at " + place(*first)});
      }
    }
  }

  Result<void> check_counts(std::uint64_t metadata_events) {
    BDD_TRY_ASSIGN(auto cursor, m_state->cursor());
    BDD_TRY_ASSIGN(auto recorded_ids, m_state->id_count());
    const std::uint64_t events = m_report.events;
    auto compare = [&](std::uint64_t value, const std::string& source) {
      if (value != events) {
        add({"count",
             "",
             0,
             "",
             "the data files hold " + std::to_string(events) + " events but " + source + " says "
                 + std::to_string(value)});
      }
    };
    compare(metadata_events, ".metadata.json");
    compare(cursor.events_stored, "the download state");
    compare(recorded_ids, "the download state's id list");

    const auto state_db = tracking::state_path(m_dir);
    BDD_TRY_ASSIGN(auto lost, m_ids->not_added_from_state(state_db, k_listed_per_kind));
    for (const auto& id : lost.second) {
      add({"lost",
           "",
           0,
           shown(id),
           "event " + model::quoted_id(id) + " was stored but is in no data file"});
    }
    add_unlisted("lost", lost.first, lost.second.size(), true);
    BDD_TRY_ASSIGN(auto unrecorded, m_ids->missing_from_state(state_db, k_listed_per_kind));
    for (const auto& [id, where] : unrecorded.second) {
      add({"unrecorded",
           where.file,
           where.line,
           shown(id),
           "event " + model::quoted_id(id)
               + " is not in the download state (not downloaded by bdd?)"});
    }
    add_unlisted("unrecorded", unrecorded.first, unrecorded.second.size(), true);
    return ok();
  }

  // Items the server sent that are not usable events: kept in the state's quarantine, not in
  // the data files. Listed so that nobody has to wonder where they went; not an error.
  Result<void> check_quarantine() {
    BDD_TRY_ASSIGN(const auto items, m_state->quarantine());
    for (const auto& item : items) {
      Finding finding{"quarantined",
                      "",
                      item.offset,
                      shown(item.id),
                      "the item the server sent at offset " + std::to_string(item.offset)
                          + " is not a usable event (" + item.reason + "); its "
                          + std::to_string(item.raw.size())
                          + " bytes are kept in the quarantine of .bdd/state.sqlite, not stored"};
      finding.error = false;
      add(std::move(finding));
    }
    return ok();
  }

  // Every server id must be stored; stored ids the server lost are only reported: bdd never
  // deletes local data because the server did.
  Result<void> check_remote() {
    BDD_TRY_ASSIGN(auto server_ids,
                   tracking::make_id_index(m_dir / ".bdd" / "verify-remote.sqlite"));
    auto stream = open_event_stream(m_config, 0, m_options.stop);
    std::uint64_t position = 0;
    for (;;) {
      BDD_TRY_ASSIGN(auto page, stream->next());
      if (!page) {
        break;
      }
      if (page->total) {
        m_report.remote_total = page->total;
      }
      for (const auto& event : page->events) {
        position += 1;
        BDD_TRY_ASSIGN(auto seen, server_ids->add(event.id, {"", position}));
        if (seen) {
          continue; // the server lists it twice; stored once is right
        }
        if (!event.unusable.empty()) {
          BDD_TRY_ASSIGN(const bool kept, m_state->quarantined(event.id));
          if (!kept) {
            add({"not_downloaded",
                 "",
                 position,
                 shown(event.id),
                 "the item at server position " + std::to_string(position)
                     + " is not a usable event (" + event.unusable
                     + ") and is not in the quarantine yet (run bdd download)"});
          }
          continue;
        }
        BDD_TRY_ASSIGN(const tracking::State::Stored stored, m_state->lookup(event.id));
        if (stored.found && stored.digest && *stored.digest != model::content_digest(event.raw)) {
          Finding finding{"changed_on_server",
                          "",
                          position,
                          shown(event.id),
                          "event " + model::quoted_id(event.id)
                              + " differs on the server from the version stored (kept)"};
          finding.error = false;
          add(std::move(finding));
        }
        if (!stored.found) {
          add({"not_downloaded",
               "",
               position,
               shown(event.id),
               "event " + model::quoted_id(event.id) + " at server position "
                   + std::to_string(position) + " is not stored locally"});
        }
      }
    }
    BDD_TRY_ASSIGN(
        auto gone,
        server_ids->not_added_from_state(tracking::state_path(m_dir), k_listed_per_kind));
    for (const auto& id : gone.second) {
      Finding finding{"deleted_on_server",
                      "",
                      0,
                      shown(id),
                      "event " + model::quoted_id(id)
                          + " is stored locally but no longer on the server (kept)"};
      finding.error = false;
      add(std::move(finding));
    }
    add_unlisted("deleted_on_server", gone.first, gone.second.size(), false);
    BDD_TRY_ASSIGN(auto server_count, server_ids->size());
    if (m_report.remote_total && *m_report.remote_total != server_count) {
      Finding finding{"count",
                      "",
                      0,
                      "",
                      "the server's total is " + std::to_string(*m_report.remote_total)
                          + " but it listed " + std::to_string(server_count) + " distinct events"};
      finding.error = false;
      add(std::move(finding));
    }
    return ok();
  }

  const config::Config& m_config;
  const VerifyOptions& m_options;
  stdfs::path m_dir;
  std::string m_format;
  std::unique_ptr<tracking::State> m_state;
  std::unique_ptr<tracking::IdIndex> m_ids;
  VerifyReport m_report;
  std::map<std::string, std::size_t> m_per_kind;
  std::map<std::string, bool> m_overflow_is_error;
};

} // namespace

bool VerifyReport::ok() const {
  return std::none_of(
      findings.begin(), findings.end(), [](const Finding& finding) { return finding.error; });
}

Result<VerifyReport> verify(const config::Config& config, const VerifyOptions& options) {
  const StudyPaths paths = study_paths(config);
  std::error_code ec;
  if (!stdfs::is_directory(paths.study_dir, ec)) {
    return Error(Errc::usage,
                 "no local data for study \"" + config.study_name + "\" in \""
                     + paths.study_dir.string() + "\" (run `bdd download " + config.study_name
                     + "`)");
  }
  // The lock keeps a download from changing the files while they are read.
  BDD_TRY_ASSIGN(
      FileLock lock,
      FileLock::acquire(paths.lock, "a download of study \"" + config.study_name + "\""));
  return Verifier(config, options, paths.study_dir).run();
}

} // namespace bdd::ops
