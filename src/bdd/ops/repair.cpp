#include "repair.hpp"

#include "compaction.hpp"

#include <bdd/core/clock.hpp>
#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/storage/writer.hpp>
#include <bdd/tracking/id_index.hpp>
#include <bdd/tracking/manifest.hpp>
#include <bdd/tracking/state.hpp>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>

namespace bdd::ops {

namespace {

namespace stdfs = std::filesystem;

// Ids go into the state in batches, so memory stays flat whatever a file holds.
constexpr std::size_t k_id_batch = 20'000;

Error file_error(std::string_view action, const stdfs::path& path, const std::error_code& ec) {
  return {Errc::storage, fs::describe_errno(action, path, ec.value())};
}

class Repair {
public:
  Repair(const config::Config& config, stdfs::path study_dir)
      : m_config(config),
        m_dir(std::move(study_dir)) {}

  Result<std::vector<std::string>> run() {
    BDD_TRY_ASSIGN(m_state, tracking::open_state(m_dir));
    BDD_TRY(finish_deletions(*m_state, m_dir)); // replaced parts are not data
    BDD_TRY(roll_back_what_can_be());
    BDD_TRY_ASSIGN(auto old_files, m_state->files());
    BDD_TRY_ASSIGN(auto old_cursor, m_state->cursor());
    BDD_TRY(m_state->reset());
    // A full scan from offset 0 follows: only the server's total and the newest time carry over.
    m_cursor.remote_total = old_cursor.remote_total;
    m_cursor.newest_stored = old_cursor.newest_stored;
    BDD_TRY_ASSIGN(m_ids, tracking::make_id_index(m_dir / ".bdd" / "repair-ids.sqlite"));
    if (format_info(m_config.format).storage == FormatStorage::database) {
      BDD_TRY(repair_database());
    } else {
      BDD_TRY_ASSIGN(auto on_disk, storage::list_data_files(m_dir, m_config.format));
      std::set<std::string> paths(on_disk.begin(), on_disk.end());
      for (const auto& file : old_files) {
        paths.insert(file.path);
      }
      for (const auto& path : paths) {
        auto old = std::find_if(old_files.begin(), old_files.end(), [&](const auto& file) {
          return file.path == path;
        });
        BDD_TRY(repair_file(path, old == old_files.end() ? nullptr : &*old));
      }
    }
    BDD_TRY(flush_ids(std::nullopt));
    m_ids.reset();
    BDD_TRY_ASSIGN(auto files, m_state->files());
    BDD_TRY(tracking::write_manifest(m_dir, files));
    return std::move(m_notes);
  }

private:
  // An unfinished commit is undone as a normal run would; a file it cannot roll back (cut
  // shorter than its journaled size) is repaired below like any other.
  Result<void> roll_back_what_can_be() {
    BDD_TRY_ASSIGN(auto pending, m_state->pending());
    if (pending.empty()) {
      return ok();
    }
    if (has_leaf_files(format_info(m_config.format))) {
      BDD_TRY_ASSIGN(auto writer,
                     storage::make_writer(m_config.format, {m_dir, m_config.study_name, {}}));
      for (const auto& file : pending) {
        static_cast<void>(writer->rollback({file.path, file.size}));
      }
      BDD_TRY(writer->close());
    }
    return m_state->clear_pending();
  }

  Result<void> repair_file(const std::string& relative, const tracking::FileRecord* old) {
    const stdfs::path path = m_dir / relative;
    std::error_code ec;
    if (!stdfs::exists(path, ec)) {
      m_notes.push_back(relative + ": missing; its events will be downloaded again");
      return ok();
    }
    if (format_info(m_config.format).storage == FormatStorage::part_files) {
      return repair_part(relative, old);
    }
    const std::uint64_t size = fs::file_size_or_zero(path);
    if (old && size >= old->size) {
      if (!old->sha256.empty()) {
        BDD_TRY_ASSIGN(auto sha256, tracking::hash_file_prefix(path, old->size));
        if (sha256 != old->sha256) {
          BDD_TRY(quarantine(relative, true));
          m_notes.push_back(relative
                            + ": changed since it was committed (edited or corrupted); moved to "
                            + m_quarantine.string() + " and its events will be downloaded again");
          return ok();
        }
      }
      BDD_TRY_ASSIGN(bool kept, keep_prefix(relative, old->size, !old->sha256.empty()));
      if (kept) {
        if (size > old->size) {
          BDD_TRY(quarantine(relative, false));
          BDD_TRY(fs::truncate_file(path, old->size));
          m_notes.push_back(relative + ": cut back to the " + std::to_string(old->size)
                            + " bytes committed (the original is in " + m_quarantine.string()
                            + ")");
        }
        return record_file(relative, old->size);
      }
    }
    return rewrite(relative);
  }

  // A part file is kept whole when it is the one committed (size and hash), else set aside
  // whole before any of its ids is counted: a part is never cut or rewritten.
  Result<void> repair_part(const std::string& relative, const tracking::FileRecord* old) {
    const stdfs::path path = m_dir / relative;
    const std::uint64_t size = fs::file_size_or_zero(path);
    bool intact = old != nullptr && size == old->size && !old->sha256.empty();
    if (intact) {
      BDD_TRY_ASSIGN(auto sha256, tracking::hash_file_prefix(path, size));
      intact = sha256 == old->sha256;
    }
    if (!intact) {
      BDD_TRY(quarantine(relative, true));
      m_notes.push_back(relative + ": " + (old ? "changed since it was committed" : "not recorded")
                        + "; moved to " + m_quarantine.string()
                        + " and its events will be downloaded again");
      return ok();
    }
    BDD_TRY_ASSIGN(auto reader, storage::open_reader(m_config.format, path));
    for (;;) {
      BDD_TRY_ASSIGN(auto record, reader->next());
      if (!record) {
        break;
      }
      BDD_TRY(add_id(relative, *record)); // a repeat stays where it is: verify names it
    }
    return record_file(relative, size);
  }

  // Take the events of the first `size` bytes as they are. False if one of them cannot be read
  // or is stored earlier (the file must then be rewritten). When `verified` (the bytes match
  // the committed hash), a read error can only come from bytes appended after them.
  Result<bool> keep_prefix(const std::string& relative, std::uint64_t size, bool verified) {
    BDD_TRY_ASSIGN(auto reader, storage::open_reader(m_config.format, m_dir / relative));
    for (;;) {
      auto record = reader->next();
      if (!record) {
        return verified;
      }
      if (!*record) {
        return true;
      }
      if ((*record)->end_offset > size) {
        return true; // bytes appended after the commit
      }
      BDD_TRY_ASSIGN(bool first, add_id(relative, **record));
      if (!first) {
        return false;
      }
    }
  }

  // True if this is the place where `record`'s id was first seen (also on a second pass).
  Result<bool> add_id(const std::string& relative, const storage::StoredRecord& record) {
    BDD_TRY_ASSIGN(auto first, m_ids->add(record.id, {relative, record.line}));
    if (first && (first->file != relative || first->line != record.line)) {
      return false;
    }
    if (!first) {
      m_batch.push_back(record.id);
      if (m_batch.size() >= k_id_batch) {
        BDD_TRY(flush_ids(std::nullopt));
      }
    }
    return true;
  }

  // Write the complete, first-seen events of the file to a sibling and replace it.
  Result<void> rewrite(const std::string& relative) {
    const stdfs::path path = m_dir / relative;
    const stdfs::path temporary = path.string() + ".repair";
    const auto layout = *storage::text_layout(m_config.format);
    BDD_TRY_ASSIGN(auto reader, storage::open_reader(m_config.format, path));
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    std::uint64_t kept = 0;
    std::uint64_t dropped = 0;
    std::string problem;
    for (;;) {
      auto record = reader->next();
      if (!record) {
        problem = "line " + std::to_string(reader->error_line()) + ": " + record.error().message;
        break;
      }
      if (!*record) {
        break;
      }
      BDD_TRY_ASSIGN(bool first, add_id(relative, **record));
      if (!first) {
        dropped += 1;
        continue;
      }
      if (kept++ == 0) {
        out << reader->head();
      } else {
        out << layout.separator;
      }
      out << (*record)->bytes;
    }
    if (kept > 0) {
      out << storage::text_layout(m_config.format, reader->head())->end; // as the head began it
    }
    out.close();
    if (!out) {
      return Error(Errc::storage, "cannot write \"" + temporary.string() + "\"");
    }
    std::string what = problem.empty() ? "" : " (" + problem + ")";
    if (dropped > 0) {
      what += ", " + std::to_string(dropped) + " duplicate events dropped";
    }
    BDD_TRY(quarantine(relative, kept == 0));
    std::error_code ec;
    if (kept == 0) {
      stdfs::remove(temporary, ec);
      m_notes.push_back(relative + ": no complete event" + what + "; moved to "
                        + m_quarantine.string());
      return ok();
    }
    // truncate_file to its own size: the one fs helper that fsyncs a file written here.
    BDD_TRY(fs::truncate_file(temporary, fs::file_size_or_zero(temporary)));
    stdfs::rename(temporary, path, ec);
    if (ec) {
      return file_error("cannot rename", temporary, ec);
    }
    BDD_TRY(fs::sync_directory(path.parent_path()));
    m_notes.push_back(relative + ": kept its " + std::to_string(kept) + " complete events" + what
                      + " (the original is in " + m_quarantine.string() + ")");
    return record_file(relative, fs::file_size_or_zero(path));
  }

  Result<void> record_file(const std::string& relative, std::uint64_t size) {
    BDD_TRY_ASSIGN(
        auto hash,
        tracking::extend_file_hash(
            m_dir / relative, {}, size, storage::rewritten_tail(m_config.format).size()));
    tracking::FileRecord file;
    file.path = relative;
    file.size = size;
    file.sha256 = std::move(hash.sha256);
    file.midstate = std::move(hash.midstate);
    return flush_ids(std::move(file));
  }

  Result<void> flush_ids(std::optional<tracking::FileRecord> file) {
    tracking::CommitRecord commit;
    m_cursor.events_stored += m_batch.size();
    commit.cursor = m_cursor;
    commit.new_ids = std::move(m_batch);
    m_batch.clear();
    if (file) {
      commit.files.push_back(std::move(*file));
    }
    return m_state->finish_commit(commit);
  }

  Result<void> repair_database() {
    const std::string relative = "events.sqlite";
    const stdfs::path path = m_dir / relative;
    std::error_code ec;
    if (!stdfs::exists(path, ec)) {
      m_notes.push_back(relative + ": missing; the events will be downloaded again");
      return ok();
    }
    auto problems = storage::sqlite_integrity_problems(path);
    if (problems.empty()) {
      BDD_TRY_ASSIGN(auto reader, storage::open_reader("sqlite", path));
      for (;;) {
        auto record = reader->next();
        if (!record) {
          problems.push_back(record.error().message);
          break;
        }
        if (!*record) {
          return ok();
        }
        BDD_TRY(add_id(relative, **record));
      }
    }
    // Unusable: forget what was read of it, set it aside, and download everything again.
    BDD_TRY(m_state->reset());
    m_batch.clear();
    m_cursor.events_stored = 0;
    for (const char* suffix : {"-wal", "-shm"}) {
      if (stdfs::exists(path.string() + suffix, ec)) {
        BDD_TRY(quarantine(relative + suffix, true));
      }
    }
    BDD_TRY(quarantine(relative, true));
    m_notes.push_back(relative + ": damaged (" + problems.front() + "); moved to "
                      + m_quarantine.string() + " and the events will be downloaded again");
    return ok();
  }

  // Keep the original of `relative` in the quarantine folder, moved there or copied, as
  // `<quarantine>/<relative>.orig`.
  Result<void> quarantine(const std::string& relative, bool move) {
    if (m_quarantine.empty()) {
      std::string stamp = utc_now();
      std::replace(stamp.begin(), stamp.end(), ':', '-');
      m_quarantine = m_dir / ".bdd" / "quarantine" / stamp;
    }
    const stdfs::path from = m_dir / relative;
    // ".orig": a search for events.<format> files must not find the set-aside copies.
    const stdfs::path to = m_quarantine / (relative + ".orig");
    BDD_TRY(fs::create_directories(to.parent_path()));
    std::error_code ec;
    if (move) {
      stdfs::rename(from, to, ec);
    } else {
      stdfs::copy_file(from, to, stdfs::copy_options::overwrite_existing, ec);
    }
    if (ec) {
      return file_error(move ? "cannot move aside" : "cannot copy", from, ec);
    }
    return ok();
  }

  const config::Config& m_config;
  stdfs::path m_dir;
  std::unique_ptr<tracking::State> m_state;
  std::unique_ptr<tracking::IdIndex> m_ids;
  tracking::Cursor m_cursor;
  std::vector<std::string> m_batch;
  std::vector<std::string> m_notes;
  stdfs::path m_quarantine;
};

} // namespace

Result<std::vector<std::string>> repair_study(const config::Config& config,
                                              const stdfs::path& study_dir) {
  return Repair(config, study_dir).run();
}

} // namespace bdd::ops
