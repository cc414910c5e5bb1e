#include "sqlite_writer.hpp"

#include <bdd/core/fs.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <system_error>

namespace bdd::storage {

namespace {

constexpr std::string_view k_file_name = "events.sqlite";

// SQLite opens paths as given, following links: refuse a database, WAL or shared-memory file
// that is one (or anything else that is not a regular file), before SQLite opens it.
Result<void> check_not_linked(const std::filesystem::path& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string name = path.string() + suffix;
    struct stat info {};
    if (::lstat(name.c_str(), &info) != 0) {
      continue; // missing: SQLite creates it
    }
    if (S_ISLNK(info.st_mode)) {
      return Error(Errc::storage,
                   "cannot open \"" + name
                       + "\": it is a symbolic link; bdd does not follow links inside a study "
                         "(remove the link)");
    }
    if (!S_ISREG(info.st_mode)) {
      return Error(Errc::storage, "cannot open \"" + name + "\": not a regular file");
    }
  }
  return ok();
}

// A plain rowid table: rowid keeps the server's order, the id key makes re-inserting a batch
// after a crash harmless (INSERT OR IGNORE).
constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  study_name TEXT,
  user_id TEXT,
  event_type TEXT,
  element_id TEXT,
  timestamp TEXT,
  stored_timestamp TEXT,
  page_url TEXT,
  data TEXT
);
)sql";

// The indexes researchers query by. Kept up to date row by row they cost about a third of a
// first download's time; built at the end from the full table they cost a tenth of it.
constexpr const char* k_indexes = R"sql(
CREATE INDEX IF NOT EXISTS events_user_id ON events(user_id);
CREATE INDEX IF NOT EXISTS events_event_type ON events(event_type);
CREATE INDEX IF NOT EXISTS events_stored_timestamp ON events(stored_timestamp);
)sql";

// Four b-trees grow with every batch. Their hot pages (the right edges, one per user in the
// user index) fit in 16 MB; more only raises peak memory (bdd stays under 64 MiB).
constexpr const char* k_cache_size = "PRAGMA cache_size=-16384";

// How many rows `events` holds, in O(1) (see make_sqlite_writer). Rows deleted by hand (the
// sqlite3 shell, a script) go through the trigger; SQLite's truncate optimisation for a bare
// DELETE is off for a table with a delete trigger, so that one counts too.
constexpr const char* k_count_schema = R"sql(
CREATE TABLE IF NOT EXISTS bdd_event_count (n INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS bdd_event_count_delete AFTER DELETE ON events
BEGIN UPDATE bdd_event_count SET n = n - 1; END;
)sql";

constexpr const char* k_insert =
    "INSERT OR IGNORE INTO events (id, study_name, user_id, event_type, element_id, timestamp, "
    "stored_timestamp, page_url, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

// <study_dir>/events.sqlite for the whole study (folder_structure does not apply). WAL with
// synchronous=FULL makes each transaction durable at COMMIT, so the engine's file journal is not
// needed: commit() journals nothing and rollback() has nothing to undo.
class SqliteWriter final : public Writer {
public:
  SqliteWriter(std::filesystem::path path, std::string study_name)
      : m_path(std::move(path)),
        m_study_name(std::move(study_name)) {}

  // Open or create the database and its schema. Separate from the constructor so the factory
  // can turn SQLite's exceptions into an Error.
  Result<void> open() {
    BDD_TRY(check_not_linked(m_path));
    std::error_code ec;
    const bool existed = std::filesystem::exists(m_path, ec);
    try {
      m_db.emplace(m_path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      m_db->exec("PRAGMA journal_mode=WAL");
      m_db->exec("PRAGMA synchronous=FULL");
      m_db->exec(k_cache_size);
      m_db->exec(k_schema);
      m_db->exec(k_count_schema);
      if (!SQLite::Statement(*m_db, "SELECT 1 FROM bdd_event_count").executeStep()) {
        // New, or made by a bdd without the count: count once (O(n), this once only).
        m_db->exec("INSERT INTO bdd_event_count SELECT count(*) FROM events");
      }
      // A first download (an empty table without indexes) builds them in finish(). Otherwise
      // they are made now, which also completes a first download that was interrupted.
      const bool empty = !SQLite::Statement(*m_db, "SELECT 1 FROM events LIMIT 1").executeStep();
      const bool indexed =
          SQLite::Statement(*m_db,
                            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = "
                            "'events_user_id'")
              .executeStep();
      m_indexes_deferred = empty && !indexed;
      if (!m_indexes_deferred) {
        build_indexes(); // nothing to do unless a first download was interrupted
      }
      m_insert.emplace(*m_db, k_insert);
      m_add_count.emplace(*m_db, "UPDATE bdd_event_count SET n = n + ?");
    } catch (const SQLite::Exception& e) {
      m_insert.reset();
      m_add_count.reset();
      m_db.reset();
      // A database that cannot be opened will not heal by itself: say how to rebuild it.
      Error error = failure("cannot open", e);
      error.message +=
          " (run `bdd download " + m_study_name + " --fresh` to download the study again)";
      return error;
    }
    if (!existed) {
      return fs::sync_directory(m_path.parent_path());
    }
    return ok();
  }

  // Inserting is the work, and it needs the connection: nothing to do ahead.
  void prepare(model::Event& /*event*/) const override {}

  // Inserted at once into a transaction that `commit()` ends: nothing uncommitted reaches
  // readers or survives a crash, and the batch is not held a second time in memory. The one
  // connection has one transaction, so the next batch waits for the commit of a sealed one.
  Result<void> write(const model::Event& event) override {
    if (!event.unusable.empty()) {
      return Error(Errc::internal, "an unusable event was handed to the storage writer");
    }
    std::unique_lock lock(m_mutex);
    m_commit_done.wait(lock, [this] { return !m_sealed; });
    BDD_TRY(usable());
    try {
      if (!m_in_transaction) {
        m_db->exec("BEGIN");
        m_in_transaction = true;
        m_transaction_bytes = 0;
        m_inserted = 0;
      }
      insert(event);
    } catch (const SQLite::Exception& e) {
      const int err = errno; // before abandon_batch() makes other system calls
      abandon_batch();
      return failure("cannot write", e, err);
    }
    return ok();
  }

  // The events of the open transaction: its changed pages wait in SQLite's page cache (or, past
  // its size, in the WAL) for the commit.
  std::uint64_t buffered_bytes() const override { return m_transaction_bytes; }

  // Also with no transaction open (a batch of duplicates only): the next write must still wait,
  // or the sealed batch's commit would commit the next batch's rows under its record.
  void seal_batch() override {
    const std::lock_guard lock(m_mutex);
    m_sealed = true;
    m_transaction_bytes = 0;
  }

  Result<std::vector<FileExtent>> commit(const JournalFn& journal,
                                         const WrittenFn& /*written*/ = {}) override {
    const std::lock_guard lock(m_mutex);
    // Whatever happens, the sealed transaction is over: wake the writing thread (which then
    // sees a lost batch through usable(), or starts the next transaction).
    struct Unseal {
      SqliteWriter& writer;
      ~Unseal() {
        writer.m_sealed = false;
        writer.m_commit_done.notify_all();
      }
    } unseal{*this};
    BDD_TRY(usable());
    if (auto journaled = journal({}); !journaled) {
      // The batch cannot be committed now, and rows written later must not join it.
      abandon_batch();
      return std::move(journaled).error();
    }
    if (m_in_transaction) {
      try {
        if (m_inserted > 0) { // in the same transaction as the rows
          m_add_count->bind(1, static_cast<std::int64_t>(m_inserted));
          m_add_count->exec();
          m_add_count->reset();
          m_inserted = 0;
        }
        m_db->exec("COMMIT");
        m_in_transaction = false;
      } catch (const SQLite::Exception& e) {
        const int err = errno;
        abandon_batch();
        return failure("cannot write", e, err);
      }
    }
    return std::vector<FileExtent>{};
  }

  Result<void> rollback(const FileExtent& /*extent*/) override { return ok(); }

  Result<void> finish() override {
    BDD_TRY(usable());
    if (!m_indexes_deferred || m_in_transaction) {
      return ok();
    }
    try {
      build_indexes();
    } catch (const SQLite::Exception& e) {
      return failure("cannot index", e);
    }
    m_indexes_deferred = false;
    return ok();
  }

  Result<void> close() override {
    m_batch_lost = false;
    m_sealed = false;
    try {
      if (m_in_transaction) {
        m_in_transaction = false;
        m_db->exec("ROLLBACK");
      }
      m_insert.reset();
      m_add_count.reset();
      m_db.reset(); // the last connection checkpoints the WAL into the database
    } catch (const SQLite::Exception& e) {
      return failure("cannot close", e);
    }
    return ok();
  }

private:
  // Create the indexes that do not exist yet. The sorter takes as much memory as the page cache
  // may: a smaller cache while it runs keeps bdd within its memory budget, at little cost.
  void build_indexes() {
    m_db->exec("PRAGMA cache_size=-4096");
    m_db->exec(k_indexes);
    m_db->exec(k_cache_size);
  }

  Result<void> usable() const {
    if (!m_db) {
      return Error(Errc::internal, "storage writer used after close");
    }
    if (m_batch_lost) {
      // Committing now would let the engine record events that are not in the database.
      return Error(Errc::storage,
                   "cannot write \"" + m_path.string()
                       + "\": an earlier write of this batch failed");
    }
    return ok();
  }

  // After a failure the transaction, and so the batch, is gone: refuse to commit until closed.
  void abandon_batch() {
    // tryReset: reset() would rethrow the failed step's error.
    static_cast<void>(m_insert->tryReset());
    static_cast<void>(m_add_count->tryReset());
    m_inserted = 0;
    if (m_in_transaction) {
      m_in_transaction = false;
      try {
        m_db->exec("ROLLBACK");
      } catch (const SQLite::Exception&) { // NOLINT(bugprone-empty-catch): SQLite may have
      }                                    // rolled back already (disk full does)
    }
    m_batch_lost = true;
  }

  void insert(const model::Event& event) {
    // bindNoCopy: the strings outlive exec(), and copying every raw event would double the work.
    const auto bind_optional = [this](int index, const std::optional<std::string>& value) {
      if (value) {
        m_insert->bindNoCopy(index, *value);
      } else {
        m_insert->bind(index);
      }
    };
    // The id as users see it. A number id is bound as a blob of its text: the column's TEXT
    // affinity would turn a number into text, and the number 1 and the string "1" are two events
    // that the primary key must keep apart.
    const std::string_view id = model::display_id(event.id);
    if (model::is_number_id(event.id)) {
      m_insert->bindNoCopy(1, static_cast<const void*>(id.data()), static_cast<int>(id.size()));
    } else if (id.size() == event.id.size()) {
      m_insert->bindNoCopy(1, event.id);
    } else {
      m_insert->bind(1, std::string(id)); // a copy: rare (a text that starts with "\x1f")
    }
    m_insert->bindNoCopy(2, m_study_name);
    m_insert->bindNoCopy(3, event.user_id);
    m_insert->bindNoCopy(4, event.event_type);
    bind_optional(5, event.element_id);
    bind_optional(6, event.timestamp);
    bind_optional(7, event.stored_timestamp);
    bind_optional(8, event.page_url);
    m_insert->bindNoCopy(9, event.raw);
    m_inserted += static_cast<std::uint64_t>(m_insert->exec()); // 0 for an id already stored
    m_insert->reset();
    m_transaction_bytes += event.raw.size();
  }

  // `err`: errno right after the failed call. SQLite words a file size limit "disk I/O error"
  // and a full disk "database or disk is full"; the errno of the failed write says which, and
  // how to fix it (sqlite3_system_errno() is not set for these errors).
  Error failure(std::string_view action, const SQLite::Exception& e, int err = 0) const {
    const int code = e.getErrorCode();
    if ((code == SQLITE_IOERR || code == SQLITE_FULL)
        && (err == ENOSPC || err == EDQUOT || err == EFBIG || err == EACCES || err == EROFS)) {
      return {Errc::storage, fs::describe_errno(action, m_path, err)};
    }
    return {Errc::storage, std::string(action) + " \"" + m_path.string() + "\": " + e.what()};
  }

  std::filesystem::path m_path;
  std::string m_study_name;
  std::optional<SQLite::Database> m_db;
  std::optional<SQLite::Statement> m_insert;
  std::optional<SQLite::Statement> m_add_count;
  std::uint64_t m_inserted = 0; // rows the open transaction added, for bdd_event_count
  bool m_in_transaction = false;
  bool m_batch_lost = false;
  // Between seal_batch() and the end of commit(): write() waits (see seal_batch()).
  std::mutex m_mutex;
  std::condition_variable m_commit_done;
  bool m_sealed = false;
  std::uint64_t m_transaction_bytes = 0; // see buffered_bytes(); only the writing thread uses it
  bool m_indexes_deferred = false;       // until finish(): see k_indexes
};

} // namespace

Result<std::optional<std::uint64_t>> sqlite_event_count(const std::filesystem::path& study_dir) {
  const std::filesystem::path path = study_dir / k_file_name;
  BDD_TRY(check_not_linked(path));
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::optional<std::uint64_t>();
  }
  try {
    // Read-write without create: a read-only connection cannot always open a WAL database.
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE);
    const bool counted =
        SQLite::Statement(db,
                          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                          "'bdd_event_count'")
            .executeStep();
    const bool has_events =
        SQLite::Statement(db,
                          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'")
            .executeStep();
    if (!has_events) {
      return std::optional<std::uint64_t>(0);
    }
    SQLite::Statement count(
        db, counted ? "SELECT n FROM bdd_event_count" : "SELECT count(*) FROM events");
    if (!count.executeStep()) {
      return std::optional<std::uint64_t>(0);
    }
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(count.getColumn(0).getInt64()));
  } catch (const SQLite::Exception& e) {
    return Error(Errc::storage, "cannot read \"" + path.string() + "\": " + e.what());
  }
}

Result<std::unique_ptr<Writer>> make_sqlite_writer(const WriterOptions& options) {
  auto writer = std::make_unique<SqliteWriter>(options.study_dir / k_file_name, options.study_name);
  BDD_TRY(writer->open());
  return std::unique_ptr<Writer>(std::move(writer));
}

} // namespace bdd::storage
