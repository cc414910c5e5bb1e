#include "state.hpp"

#include <bdd/core/fs.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

namespace bdd::tracking {

namespace {

// Bump when the schema changes, and add a migration step in `migrate`.
constexpr int k_schema_version = 1;

constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ids(id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending(path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
)sql";

class SqliteState final : public State {
public:
  SqliteState(std::filesystem::path path)
      : m_path(std::move(path)),
        m_db(m_path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE),
        m_contains(m_db, "SELECT 1 FROM ids WHERE id = ?") {}

  static Result<std::unique_ptr<State>> open(const std::filesystem::path& path) {
    try {
      // The statement in the constructor needs the table, so create the schema first.
      {
        SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("PRAGMA journal_mode=WAL");
        int version = db.execAndGet("PRAGMA user_version").getInt();
        if (version > k_schema_version) {
          return Error(Errc::storage,
                       "\"" + path.string() + "\": schema version " + std::to_string(version)
                           + " is newer than this bdd supports ("
                           + std::to_string(k_schema_version) + "); upgrade bdd");
        }
        db.exec(k_schema);
        db.exec("PRAGMA user_version = " + std::to_string(k_schema_version));
      }
      auto state = std::make_unique<SqliteState>(path);
      state->m_db.exec("PRAGMA synchronous=FULL");
      state->m_db.exec("PRAGMA busy_timeout=10000");
      return std::unique_ptr<State>(std::move(state));
    } catch (const std::exception& e) {
      return Error(Errc::storage,
                   "cannot open download state \"" + path.string() + "\": " + e.what()
                       + " (move the study folder away and run bdd download again)");
    }
  }

  Result<Cursor> cursor() override {
    return guarded([&] {
      Cursor c;
      SQLite::Statement query(m_db, "SELECT key, value FROM meta");
      while (query.executeStep()) {
        std::string key = query.getColumn(0).getString();
        std::string value = query.getColumn(1).getString();
        if (key == "offset") {
          c.offset = std::stoull(value);
        } else if (key == "last_id") {
          c.last_id = value;
        } else if (key == "events_stored") {
          c.events_stored = std::stoull(value);
        } else if (key == "remote_total") {
          c.remote_total = std::stoull(value);
        } else if (key == "newest_stored") {
          c.newest_stored = value;
        }
      }
      return c;
    });
  }

  Result<std::vector<FileRecord>> pending() override { return read_files("pending"); }
  Result<std::vector<FileRecord>> files() override { return read_files("files"); }

  Result<void> begin_commit(const std::vector<FileRecord>& before) override {
    return guarded_void([&] {
      SQLite::Transaction txn(m_db);
      m_db.exec("DELETE FROM pending");
      SQLite::Statement insert(m_db, "INSERT OR REPLACE INTO pending(path, size) VALUES(?, ?)");
      for (const auto& file : before) {
        insert.bind(1, file.path);
        insert.bind(2, static_cast<int64_t>(file.size));
        insert.exec();
        insert.reset();
      }
      txn.commit();
    });
  }

  Result<void> finish_commit(const CommitRecord& record) override {
    return guarded_void([&] {
      SQLite::Transaction txn(m_db);
      SQLite::Statement insert_id(m_db, "INSERT OR IGNORE INTO ids(id) VALUES(?)");
      for (const auto& id : record.new_ids) {
        insert_id.bind(1, id);
        insert_id.exec();
        insert_id.reset();
      }
      SQLite::Statement upsert_file(m_db, "INSERT OR REPLACE INTO files(path, size) VALUES(?, ?)");
      for (const auto& file : record.files) {
        upsert_file.bind(1, file.path);
        upsert_file.bind(2, static_cast<int64_t>(file.size));
        upsert_file.exec();
        upsert_file.reset();
      }
      SQLite::Statement set(m_db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
      auto put = [&](const char* key, const std::string& value) {
        set.bind(1, key);
        set.bind(2, value);
        set.exec();
        set.reset();
      };
      const Cursor& c = record.cursor;
      put("offset", std::to_string(c.offset));
      put("last_id", c.last_id);
      put("events_stored", std::to_string(c.events_stored));
      if (c.remote_total) {
        put("remote_total", std::to_string(*c.remote_total));
      }
      put("newest_stored", c.newest_stored);
      m_db.exec("DELETE FROM pending");
      txn.commit();
    });
  }

  Result<void> clear_pending() override {
    return guarded_void([&] { m_db.exec("DELETE FROM pending"); });
  }

  Result<bool> contains(const std::string& id) override {
    return guarded([&] {
      m_contains.bind(1, id);
      bool found = m_contains.executeStep();
      m_contains.reset();
      return found;
    });
  }

private:
  Result<std::vector<FileRecord>> read_files(const std::string& table) {
    return guarded([&] {
      std::vector<FileRecord> out;
      SQLite::Statement query(m_db, "SELECT path, size FROM " + table + " ORDER BY path");
      while (query.executeStep()) {
        out.push_back({query.getColumn(0).getString(),
                       static_cast<std::uint64_t>(query.getColumn(1).getInt64())});
      }
      return out;
    });
  }

  // SQLiteCpp throws; this module's callers get values.
  template <typename F>
  auto guarded(F&& body) -> Result<decltype(body())> {
    try {
      return body();
    } catch (const std::exception& e) {
      return failure(e);
    }
  }
  template <typename F>
  Result<void> guarded_void(F&& body) {
    try {
      body();
      return ok();
    } catch (const std::exception& e) {
      return failure(e);
    }
  }
  Error failure(const std::exception& e) const {
    return Error(Errc::storage, "download state \"" + m_path.string() + "\": " + e.what());
  }

  std::filesystem::path m_path;
  SQLite::Database m_db;
  SQLite::Statement m_contains;
};

} // namespace

std::filesystem::path state_path(const std::filesystem::path& study_dir) {
  return study_dir / ".bdd" / "state.sqlite";
}

Result<std::unique_ptr<State>> open_state(const std::filesystem::path& study_dir) {
  auto path = state_path(study_dir);
  BDD_TRY(fs::create_directories(path.parent_path()));
  return SqliteState::open(path);
}

} // namespace bdd::tracking
