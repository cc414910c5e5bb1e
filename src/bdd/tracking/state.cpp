#include "state.hpp"

#include <bdd/core/fs.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <utility>

namespace bdd::tracking {

namespace {

// Bump when the schema changes, and add a step to `k_migrations`.
//  1: meta, ids, files(path, size), pending
//  2: files gains sha256 and midstate (the manifest)
//  3: seams (where pages ended), quarantine (unusable items of pages), ids gain their content
//     digest (NULL for ids stored before)
//  4: the digest is model::content_digest's fast 64-bit hash instead of the first 8 bytes of a
//     SHA-256; digests of schema 3 are forgotten (NULL, as for ids stored before schema 3, or
//     rebuilt by --repair): the raw events that a conversion would need are only in the data
//     files, in any of four formats, and a stale digest would report every event as changed
//  5: doomed(path): part files a compaction replaced, removed from `files` in the same
//     transaction and deleted once that transaction is durable (see State::doomed)
constexpr int k_schema_version = 5;

// A new database is made at version 1 and migrated like an old one, so there is one path.
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ids(id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending(path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// k_migrations[i] takes a database from version i + 1 to i + 2. Files of a v1 state have no
// hash yet: the next commit that touches one hashes it from the start.
constexpr std::array<const char*, k_schema_version - 1> k_migrations = {
    "ALTER TABLE files ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE files ADD COLUMN midstate BLOB;",
    "ALTER TABLE ids ADD COLUMN digest INTEGER;"
    "CREATE TABLE seams(offset INTEGER PRIMARY KEY, id TEXT NOT NULL);"
    "CREATE TABLE quarantine(id TEXT PRIMARY KEY, offset INTEGER NOT NULL, reason TEXT NOT NULL,"
    " raw BLOB NOT NULL) WITHOUT ROWID;",
    "UPDATE ids SET digest = NULL WHERE digest IS NOT NULL;",
    "CREATE TABLE doomed(path TEXT PRIMARY KEY) WITHOUT ROWID;",
};

void migrate(SQLite::Database& db, int version) {
  SQLite::Transaction txn(db);
  if (version == 0) {
    db.exec(k_schema_v1);
    version = 1;
  }
  const bool had_ids = version >= 1 && version < 3;
  for (; version < k_schema_version; ++version) {
    db.exec(k_migrations[static_cast<std::size_t>(version - 1)]);
  }
  // Before schema 3 a number id was stored as its bare text, as a string id is; since, its key
  // carries a prefix (model::Event::id). Remember that bare numbers may be number ids, so that
  // lookups also try the old key and such events are not stored twice.
  if (had_ids
      && db.execAndGet("SELECT EXISTS (SELECT 1 FROM ids WHERE id GLOB '[0-9-]*' AND id NOT "
                       "GLOB '*[^0-9.eE+-]*')")
                 .getInt()
             != 0) {
    db.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('bare_number_ids', '1')");
  }
  db.exec("PRAGMA user_version = " + std::to_string(k_schema_version));
  txn.commit();
}

// INSERT OR IGNORE each of `ids` (with its digest, if it has one) into the ids table, in the
// order given. Up to k_rows_per_statement rows go in one statement of bound values: it saves a
// statement start and reset per id, which made up most of the cost, and, unlike reading them
// from a JSON array (json_each), parses nothing (half the CPU time of that at 15,000 ids a
// commit). Bound, an id is stored exactly as it is, whatever bytes it holds.
void insert_ids(
    SQLite::Database& db,
    const std::vector<std::pair<const std::string*, std::optional<std::int64_t>>>& ids) {
  // 512 parameters a statement: well under SQLite's limit, and as good as the same cost as more.
  constexpr std::size_t k_rows_per_statement = 256;
  const auto prepare = [&db](std::optional<SQLite::Statement>& statement, std::size_t rows) {
    std::string sql = "INSERT OR IGNORE INTO ids(id, digest) VALUES (?, ?)";
    for (std::size_t row = 1; row < rows; ++row) {
      sql += ", (?, ?)";
    }
    statement.emplace(db, sql);
  };
  std::optional<SQLite::Statement> full;
  std::optional<SQLite::Statement> rest;
  for (std::size_t from = 0; from < ids.size(); from += k_rows_per_statement) {
    const std::size_t rows = std::min(k_rows_per_statement, ids.size() - from);
    std::optional<SQLite::Statement>& insert = rows == k_rows_per_statement ? full : rest;
    if (!insert) {
      prepare(insert, rows);
    }
    for (std::size_t row = 0; row < rows; ++row) {
      const auto& [id, digest] = ids[from + row];
      const auto parameter = static_cast<int>(2 * row + 1);
      insert->bindNoCopy(parameter, *id);
      if (digest) {
        insert->bind(parameter + 1, static_cast<int64_t>(*digest));
      } else {
        insert->bind(parameter + 1);
      }
    }
    insert->exec();
    insert->reset();
  }
}

class SqliteState final : public State {
public:
  SqliteState(std::filesystem::path path, StateAccess access)
      : m_path(std::move(path)),
        m_db(connect(m_path)),
        m_reader(access == StateAccess::exclusive ? std::make_unique<Reader>(m_path) : nullptr),
        m_contains(m_db, "SELECT digest FROM ids WHERE id = ?"),
        m_quarantined(m_db, "SELECT 1 FROM quarantine WHERE id = ?"),
        m_file_query(m_db, "SELECT path, size, sha256, midstate FROM files WHERE path = ?"),
        m_bare_number_ids(
            m_db.execAndGet("SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'bare_number_ids')")
                .getInt()
            != 0) {}

  static Result<std::unique_ptr<State>> open(const std::filesystem::path& path,
                                             StateAccess access) {
    try {
      // The statement in the constructor needs the table, so create the schema first.
      {
        SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("PRAGMA journal_mode=WAL");
        int version = db.execAndGet("PRAGMA user_version").getInt();
        if (version > k_schema_version) {
          return Error(Errc::storage,
                       "\"" + path.string() + "\": schema version " + std::to_string(version)
                           + " is newer than this bdd supports (" + std::to_string(k_schema_version)
                           + "); upgrade bdd");
        }
        if (version < k_schema_version) {
          migrate(db, version);
        }
      }
      return std::unique_ptr<State>(std::make_unique<SqliteState>(path, access));
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
        } else if (key == "high_water") {
          c.high_water = std::stoull(value);
        }
      }
      return c;
    });
  }

  Result<std::vector<FileRecord>> pending() override {
    return guarded([&] {
      std::vector<FileRecord> out;
      const auto collect = [&out](SQLite::Statement& query) {
        while (query.executeStep()) {
          FileRecord record;
          record.path = query.getColumn(0).getString();
          record.size = static_cast<std::uint64_t>(query.getColumn(1).getInt64());
          out.push_back(std::move(record));
        }
      };
      SQLite::Statement journal(m_db, "SELECT path, size FROM pending ORDER BY path");
      collect(journal);
      if (marked_open()) {
        SQLite::Statement recorded(m_db,
                                   "SELECT path, size FROM files WHERE path NOT IN (SELECT path "
                                   "FROM pending) ORDER BY path");
        collect(recorded);
      }
      return out;
    });
  }

  Result<std::vector<FileRecord>> files() override {
    return guarded([&] {
      std::vector<FileRecord> out;
      SQLite::Statement query(m_db, "SELECT path, size, sha256, midstate FROM files ORDER BY path");
      while (query.executeStep()) {
        out.push_back(file_record(query));
      }
      return out;
    });
  }

  Result<std::vector<FileRecord>> files_at(const std::vector<std::string>& paths) override {
    return guarded([&] {
      std::vector<FileRecord> found;
      if (paths.empty()) {
        return found;
      }
      // Prepared once; one read transaction takes the locks once for all of the paths.
      SQLite::Statement& query = m_file_query;
      SQLite::Transaction reads(m_db);
      for (const auto& path : paths) {
        query.reset();
        query.bindNoCopy(1, path);
        if (query.executeStep()) {
          found.push_back(file_record(query));
        }
      }
      query.reset();
      reads.commit();
      return found;
    });
  }

  Result<std::uint64_t> id_count() override {
    return guarded([&] {
      return static_cast<std::uint64_t>(m_db.execAndGet("SELECT count(*) FROM ids").getInt64());
    });
  }

  Result<void> reset() override {
    return guarded_void([&] {
      SQLite::Transaction txn(m_db);
      m_db.exec("DELETE FROM ids; DELETE FROM files; DELETE FROM pending; DELETE FROM meta;"
                "DELETE FROM seams;");
      txn.commit();
      m_generation.fetch_add(1, std::memory_order_release);
      m_marked_open = false;
    });
  }

  Result<std::vector<std::string>> doomed() override {
    return guarded([&] {
      std::vector<std::string> out;
      SQLite::Statement query(m_db, "SELECT path FROM doomed ORDER BY path");
      while (query.executeStep()) {
        out.push_back(query.getColumn(0).getString());
      }
      return out;
    });
  }

  Result<void> forget_doomed(const std::vector<std::string>& paths) override {
    return guarded_void([&] {
      SQLite::Transaction txn(m_db);
      SQLite::Statement forget(m_db, "DELETE FROM doomed WHERE path = ?");
      for (const auto& path : paths) {
        forget.bind(1, path);
        forget.exec();
        forget.reset();
      }
      txn.commit();
    });
  }

  Result<std::optional<std::int64_t>> tree_checked_at() override {
    return guarded([&]() -> std::optional<std::int64_t> {
      SQLite::Statement query(m_db, "SELECT value FROM meta WHERE key = 'tree_checked_at'");
      if (!query.executeStep()) {
        return std::nullopt;
      }
      return query.getColumn(0).getInt64();
    });
  }

  Result<void> set_tree_checked_at(std::int64_t unix_seconds) override {
    return guarded_void([&] {
      SQLite::Statement set(m_db,
                            "INSERT OR REPLACE INTO meta(key, value) VALUES('tree_checked_at', ?)");
      set.bind(1, std::to_string(unix_seconds));
      set.exec();
    });
  }

  Result<void> begin_commit(const std::vector<FileRecord>& before) override {
    return guarded_void([&] {
      // A recorded file needs no entry: while the study is marked open, `files` is its journal
      // (the engine appends only to files at their recorded size). Usually that leaves nothing
      // to write, and no fsync to wait for.
      std::vector<const FileRecord*> unrecorded;
      SQLite::Statement recorded(m_db, "SELECT 1 FROM files WHERE path = ?");
      SQLite::Transaction lookups(m_db); // one read transaction for all of them
      for (const auto& file : before) {
        recorded.bind(1, file.path);
        if (!recorded.executeStep()) {
          unrecorded.push_back(&file);
        }
        recorded.reset();
      }
      lookups.commit();
      if (unrecorded.empty() && m_marked_open) {
        return;
      }
      // Durable (below) whatever synchronous mode an earlier finish_commit failed to restore.
      m_db.exec("PRAGMA synchronous=FULL");
      SQLite::Transaction txn(m_db);
      // The first size journalled for a path stands until the commit is recorded.
      SQLite::Statement insert(m_db, "INSERT OR IGNORE INTO pending(path, size) VALUES(?, ?)");
      for (const auto* file : unrecorded) {
        insert.bind(1, file->path);
        insert.bind(2, static_cast<int64_t>(file->size));
        insert.exec();
        insert.reset();
      }
      m_db.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('open', '1')");
      txn.commit(); // durable (synchronous=FULL) before the writer changes a byte
      m_marked_open = true;
    });
  }

  Result<void> finish_commit(const CommitRecord& record) override {
    return guarded_void([&] {
      // Not synced while the study is marked open: if power loss takes this commit, the next
      // run truncates the files back to the sizes of the commit before, which the ids and
      // cursor that survived describe. Without the mark (repair), or when asked, it is synced.
      m_db.exec(m_marked_open && !record.durable ? "PRAGMA synchronous=NORMAL"
                                                 : "PRAGMA synchronous=FULL");
      struct RestoreFull {
        SQLite::Database& db;
        ~RestoreFull() {
          try {
            db.exec("PRAGMA synchronous=FULL");
          } catch (...) { // NOLINT(bugprone-empty-catch): FULL is only the safer default
          }
        }
      } restore{m_db};
      SQLite::Transaction txn(m_db);
      // In key order, each insert lands next to the previous one in the index: far fewer pages
      // are visited than in arrival order, which is random for most id schemes.
      std::vector<std::pair<const std::string*, std::optional<std::int64_t>>> sorted_ids;
      sorted_ids.reserve(record.new_ids.size());
      for (std::size_t i = 0; i < record.new_ids.size(); ++i) {
        std::optional<std::int64_t> digest;
        if (i < record.new_digests.size()) {
          digest = static_cast<std::int64_t>(record.new_digests[i]);
        }
        sorted_ids.emplace_back(&record.new_ids[i], digest);
      }
      std::sort(sorted_ids.begin(), sorted_ids.end(), [](const auto& left, const auto& right) {
        return *left.first < *right.first;
      });
      insert_ids(m_db, sorted_ids);
      SQLite::Statement upsert_file(
          m_db, "INSERT OR REPLACE INTO files(path, size, sha256, midstate) VALUES(?, ?, ?, ?)");
      if (!record.removed_files.empty()) {
        SQLite::Statement drop(m_db, "DELETE FROM files WHERE path = ?");
        SQLite::Statement doom(m_db, "INSERT OR IGNORE INTO doomed(path) VALUES(?)");
        for (const auto& path : record.removed_files) {
          drop.bind(1, path);
          drop.exec();
          drop.reset();
          doom.bind(1, path);
          doom.exec();
          doom.reset();
        }
      }
      for (const auto& file : record.files) {
        upsert_file.bind(1, file.path);
        upsert_file.bind(2, static_cast<int64_t>(file.size));
        upsert_file.bind(3, file.sha256);
        upsert_file.bind(4, file.midstate.data(), static_cast<int>(file.midstate.size()));
        upsert_file.exec();
        upsert_file.reset();
      }
      if (record.forget_seams_from) {
        SQLite::Statement forget(m_db, "DELETE FROM seams WHERE offset >= ?");
        forget.bind(1, static_cast<int64_t>(*record.forget_seams_from));
        forget.exec();
      }
      if (!record.seams.empty()) {
        SQLite::Statement seam(m_db, "INSERT OR REPLACE INTO seams(offset, id) VALUES(?, ?)");
        for (const auto& [offset, id] : record.seams) {
          seam.bind(1, static_cast<int64_t>(offset));
          seam.bindNoCopy(2, id);
          seam.exec();
          seam.reset();
        }
      }
      if (!record.quarantined.empty()) {
        SQLite::Statement keep(
            m_db, "INSERT OR IGNORE INTO quarantine(id, offset, reason, raw) VALUES(?, ?, ?, ?)");
        for (const auto& item : record.quarantined) {
          keep.bindNoCopy(1, item.id);
          keep.bind(2, static_cast<int64_t>(item.offset));
          keep.bindNoCopy(3, item.reason);
          keep.bindNoCopy(4, item.raw.data(), static_cast<int>(item.raw.size()));
          keep.exec();
          keep.reset();
        }
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
      {
        // The greatest ever, whatever this run's cursor did (it moves back when a run reads
        // part of the list again).
        SQLite::Statement high_water(
            m_db,
            "INSERT INTO meta(key, value) VALUES('high_water', ?) ON CONFLICT(key) DO UPDATE SET "
            "value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))");
        high_water.bind(1, std::to_string(std::max(c.high_water, c.offset)));
        high_water.exec();
      }
      // Only this commit's journal entries: the next commit may have journaled its own already.
      // Most commits create no file and so have none, nor does the next: skip the lookups.
      if (m_db.execAndGet("SELECT EXISTS (SELECT 1 FROM pending)").getInt() != 0) {
        SQLite::Statement unjournal(m_db, "DELETE FROM pending WHERE path = ?");
        for (const auto& file : record.files) {
          unjournal.bind(1, file.path);
          unjournal.exec();
          unjournal.reset();
        }
      }
      txn.commit();
      m_generation.fetch_add(1, std::memory_order_release); // lookups see it from now on
    });
  }

  Result<void> clear_pending() override {
    return guarded_void([&] {
      if (!m_marked_open && !marked_open()
          && m_db.execAndGet("SELECT count(*) FROM pending").getInt64() == 0) {
        return; // a clean study: no transaction, no fsync
      }
      SQLite::Transaction txn(m_db);
      m_db.exec("DELETE FROM pending; DELETE FROM meta WHERE key = 'open'");
      txn.commit();
      m_marked_open = false;
    });
  }

  Result<bool> contains(const std::string& id) override {
    BDD_TRY_ASSIGN(const Stored stored, lookup(id));
    return stored.found;
  }

  Result<Stored> lookup(const std::string& id) override {
    return guarded([&] {
      SQLite::Statement& query = m_reader ? m_reader->snapshot(m_generation) : m_contains;
      Stored stored = lookup_key(query, id);
      // A number id's key is "\x1f" "n" + its text; a state from before schema 3 has the text.
      constexpr std::string_view k_number_prefix = "\x1fn";
      if (!stored.found && m_bare_number_ids && id.starts_with(k_number_prefix)) {
        stored = lookup_key(query, id.substr(k_number_prefix.size()));
      }
      return stored;
    });
  }

  void end_reads() override {
    if (m_reader) {
      m_reader->end();
    }
  }

  Result<std::optional<Seam>> seam_in(std::uint64_t offset, std::uint64_t before) override {
    return guarded([&]() -> std::optional<Seam> {
      SQLite::Statement query(
          m_db,
          "SELECT offset, id FROM seams WHERE offset >= ? AND offset < ? ORDER BY offset LIMIT 1");
      query.bind(1, static_cast<int64_t>(offset));
      query.bind(2, static_cast<int64_t>(before));
      if (!query.executeStep()) {
        return std::nullopt;
      }
      return Seam{static_cast<std::uint64_t>(query.getColumn(0).getInt64()),
                  query.getColumn(1).getString()};
    });
  }

  Result<bool> quarantined(const std::string& id) override {
    return guarded([&] {
      m_quarantined.bindNoCopy(1, id);
      bool found = m_quarantined.executeStep();
      m_quarantined.reset();
      return found;
    });
  }

  Result<std::vector<QuarantinedItem>> quarantine() override {
    return guarded([&] {
      std::vector<QuarantinedItem> out;
      SQLite::Statement query(m_db,
                              "SELECT id, offset, reason, raw FROM quarantine ORDER BY offset, id");
      while (query.executeStep()) {
        QuarantinedItem item;
        item.id = query.getColumn(0).getString();
        item.offset = static_cast<std::uint64_t>(query.getColumn(1).getInt64());
        item.reason = query.getColumn(2).getString();
        const SQLite::Column raw = query.getColumn(3);
        item.raw.assign(static_cast<const char*>(raw.getBlob()),
                        static_cast<std::size_t>(raw.getBytes()));
        out.push_back(std::move(item));
      }
      return out;
    });
  }

private:
  // The lookups' own connection (StateAccess::exclusive). A lookup of a fresh download that its
  // Bloom filter could not answer (1 in 20 at five million ids) used to wait for the commit
  // being recorded on the other connection, nearly every commit: 29 of 81 s at 5M events.
  // Reading a snapshot instead, it waits for nothing. The snapshot is kept between lookups, so
  // that they take no lock (the read transaction takes them once), until a commit of this state
  // makes it stale: the ids of the commits in flight are not in it, which is the caller's to
  // cover (ops::CommitPipeline keeps them until their record is stored).
  class Reader {
  public:
    explicit Reader(const std::filesystem::path& path)
        : m_db(connect_reader(path)),
          m_contains(m_db, "SELECT digest FROM ids WHERE id = ?") {}

    // The lookup statement, in a read transaction that sees every commit counted in
    // `generation` (bumped after each commit of the state's writing connection).
    SQLite::Statement& snapshot(const std::atomic<std::uint64_t>& generation) {
      const std::uint64_t now = generation.load(std::memory_order_acquire);
      if (m_reading && now != m_generation) {
        end();
      }
      if (!m_reading) {
        m_db.exec("BEGIN"); // the snapshot is taken by the first read, after `now` was loaded
        m_reading = true;
        m_generation = now;
      }
      return m_contains;
    }

    void end() noexcept {
      if (!m_reading) {
        return;
      }
      m_reading = false;
      try {
        m_contains.reset();
        m_db.exec("COMMIT");
      } catch (...) { // NOLINT(bugprone-empty-catch): nothing was written; the next BEGIN says
      }
    }

  private:
    static SQLite::Database connect_reader(const std::filesystem::path& path) {
      SQLite::Database db(path.string(), SQLite::OPEN_READWRITE);
      db.exec("PRAGMA query_only=1");
      // Lookups land anywhere in the index and a commit empties the cache anyway: a small one
      // keeps the top of the tree, and the download's memory bound.
      db.exec("PRAGMA cache_size=-512");
      db.exec("PRAGMA busy_timeout=10000");
      return db;
    }

    SQLite::Database m_db;
    SQLite::Statement m_contains;
    bool m_reading = false;
    std::uint64_t m_generation = 0;
  };

  static Stored lookup_key(SQLite::Statement& query, const std::string& key) {
    query.bindNoCopy(1, key);
    Stored stored;
    stored.found = query.executeStep();
    if (stored.found && !query.getColumn(0).isNull()) {
      stored.digest = static_cast<std::uint64_t>(query.getColumn(0).getInt64());
    }
    query.reset();
    return stored;
  }

  static SQLite::Database connect(const std::filesystem::path& path) {
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA synchronous=FULL");
    db.exec("PRAGMA busy_timeout=10000");
    return db;
  }

  bool marked_open() {
    SQLite::Statement query(m_db, "SELECT 1 FROM meta WHERE key = 'open'");
    return query.executeStep();
  }

  static FileRecord file_record(SQLite::Statement& query) {
    FileRecord record;
    record.path = query.getColumn(0).getString();
    record.size = static_cast<std::uint64_t>(query.getColumn(1).getInt64());
    record.sha256 = query.getColumn(2).getString();
    const SQLite::Column midstate = query.getColumn(3);
    if (!midstate.isNull()) {
      record.midstate.assign(static_cast<const char*>(midstate.getBlob()),
                             static_cast<std::size_t>(midstate.getBytes()));
    }
    return record;
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
  std::unique_ptr<Reader> m_reader;           // StateAccess::exclusive only
  std::atomic<std::uint64_t> m_generation{0}; // commits of m_db that changed ids (see Reader)
  SQLite::Statement m_contains;
  SQLite::Statement m_quarantined;
  SQLite::Statement m_file_query;
  bool m_marked_open = false;   // this connection marked the study open (see begin_commit)
  const bool m_bare_number_ids; // ids stored before schema 3 may be bare number texts
};

} // namespace

std::filesystem::path state_path(const std::filesystem::path& study_dir) {
  return study_dir / ".bdd" / "state.sqlite";
}

Result<std::unique_ptr<State>> open_state(const std::filesystem::path& study_dir,
                                          StateAccess access) {
  auto path = state_path(study_dir);
  BDD_TRY(fs::create_directories(path.parent_path()));
  return SqliteState::open(path, access);
}

} // namespace bdd::tracking
