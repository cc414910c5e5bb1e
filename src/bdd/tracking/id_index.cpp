#include "id_index.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <system_error>

namespace bdd::tracking {

namespace {

void remove_database_files(const std::filesystem::path& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    std::filesystem::remove(path.string() + suffix, ec);
  }
}

class SqliteIdIndex final : public IdIndex {
public:
  explicit SqliteIdIndex(std::filesystem::path path)
      : m_path(std::move(path)),
        m_db(open_db(m_path)),
        m_insert(m_db, "INSERT OR IGNORE INTO seen(id, file, line) VALUES(?, ?, ?)"),
        m_find(m_db, "SELECT file, line FROM seen WHERE id = ?") {
    // One long transaction: the index is scratch, so nothing needs to be durable before the end.
    m_db.exec("BEGIN");
  }

  Result<std::optional<IdPlace>> add(std::string_view id, const IdPlace& place) override {
    return guarded([&]() -> std::optional<IdPlace> {
      const std::string text(id); // bind(const void*, int) would store a BLOB
      m_insert.bind(1, text);
      m_insert.bind(2, place.file);
      m_insert.bind(3, static_cast<int64_t>(place.line));
      const int changed = m_insert.exec();
      m_insert.reset();
      if (changed == 1) {
        return std::nullopt;
      }
      m_find.bind(1, text);
      std::optional<IdPlace> first;
      if (m_find.executeStep()) {
        first = IdPlace{m_find.getColumn(0).getString(),
                        static_cast<std::uint64_t>(m_find.getColumn(1).getInt64())};
      }
      m_find.reset();
      return first;
    });
  }

  Result<std::uint64_t> size() override {
    return guarded([&] {
      return static_cast<std::uint64_t>(m_db.execAndGet("SELECT count(*) FROM seen").getInt64());
    });
  }

  Result<std::pair<std::uint64_t, std::vector<std::string>>>
  not_added_from_state(const std::filesystem::path& state_db, std::size_t limit) override {
    return guarded([&] {
      attach(state_db);
      std::pair<std::uint64_t, std::vector<std::string>> out;
      // A state from before schema 3 may hold a number id as its bare text (see state.cpp).
      const char* k_where =
          " FROM state.ids WHERE id NOT IN (SELECT id FROM seen) AND NOT (EXISTS (SELECT 1 FROM "
          "state.meta WHERE key = 'bare_number_ids') AND char(31) || 'n' || id IN (SELECT id "
          "FROM seen))";
      out.first = static_cast<std::uint64_t>(
          m_db.execAndGet(std::string("SELECT count(*)") + k_where).getInt64());
      SQLite::Statement query(m_db, std::string("SELECT id") + k_where + " ORDER BY id LIMIT ?");
      query.bind(1, static_cast<int64_t>(limit));
      while (query.executeStep()) {
        out.second.push_back(query.getColumn(0).getString());
      }
      return out;
    });
  }

  Result<std::pair<std::uint64_t, std::vector<std::pair<std::string, IdPlace>>>>
  missing_from_state(const std::filesystem::path& state_db, std::size_t limit) override {
    return guarded([&] {
      attach(state_db);
      std::pair<std::uint64_t, std::vector<std::pair<std::string, IdPlace>>> out;
      const char* k_where =
          " FROM seen WHERE id NOT IN (SELECT id FROM state.ids) AND NOT (EXISTS (SELECT 1 FROM "
          "state.meta WHERE key = 'bare_number_ids') AND substr(id, 1, 2) = char(31) || 'n' AND "
          "substr(id, 3) IN (SELECT id FROM state.ids))";
      out.first = static_cast<std::uint64_t>(
          m_db.execAndGet(std::string("SELECT count(*)") + k_where).getInt64());
      SQLite::Statement query(
          m_db, std::string("SELECT id, file, line") + k_where + " ORDER BY file, line LIMIT ?");
      query.bind(1, static_cast<int64_t>(limit));
      while (query.executeStep()) {
        out.second.push_back({query.getColumn(0).getString(),
                              {query.getColumn(1).getString(),
                               static_cast<std::uint64_t>(query.getColumn(2).getInt64())}});
      }
      return out;
    });
  }

private:
  static SQLite::Database open_db(const std::filesystem::path& path) {
    remove_database_files(path);
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384;");
    db.exec("CREATE TABLE seen(id TEXT PRIMARY KEY, file TEXT NOT NULL, line INTEGER NOT NULL)"
            " WITHOUT ROWID");
    return db;
  }

  // The state is only read. ATTACH must happen outside a transaction.
  void attach(const std::filesystem::path& state_db) {
    if (m_attached) {
      return;
    }
    m_db.exec("COMMIT");
    SQLite::Statement attach(m_db, "ATTACH DATABASE ? AS state");
    attach.bind(1, state_db.string());
    attach.exec();
    m_attached = true;
    m_db.exec("BEGIN");
  }

  template <typename F>
  auto guarded(F&& body) -> Result<decltype(body())> {
    try {
      return body();
    } catch (const std::exception& e) {
      return Error(Errc::storage, "id index \"" + m_path.string() + "\": " + e.what());
    }
  }

  std::filesystem::path m_path;
  SQLite::Database m_db;
  SQLite::Statement m_insert;
  SQLite::Statement m_find;
  bool m_attached = false;
};

// Deletes the index files after the database is closed.
class RemovingIdIndex final : public IdIndex {
public:
  explicit RemovingIdIndex(std::filesystem::path path)
      : m_path(path),
        m_index(std::make_unique<SqliteIdIndex>(std::move(path))) {}
  ~RemovingIdIndex() override {
    m_index.reset();
    remove_database_files(m_path);
  }
  Result<std::optional<IdPlace>> add(std::string_view id, const IdPlace& place) override {
    return m_index->add(id, place);
  }
  Result<std::uint64_t> size() override { return m_index->size(); }
  Result<std::pair<std::uint64_t, std::vector<std::string>>>
  not_added_from_state(const std::filesystem::path& state_db, std::size_t limit) override {
    return m_index->not_added_from_state(state_db, limit);
  }
  Result<std::pair<std::uint64_t, std::vector<std::pair<std::string, IdPlace>>>>
  missing_from_state(const std::filesystem::path& state_db, std::size_t limit) override {
    return m_index->missing_from_state(state_db, limit);
  }

private:
  std::filesystem::path m_path;
  std::unique_ptr<SqliteIdIndex> m_index;
};

} // namespace

Result<std::unique_ptr<IdIndex>> make_id_index(const std::filesystem::path& path) {
  try {
    return std::unique_ptr<IdIndex>(std::make_unique<RemovingIdIndex>(path));
  } catch (const std::exception& e) {
    remove_database_files(path);
    return Error(Errc::storage, "cannot create id index \"" + path.string() + "\": " + e.what());
  }
}

} // namespace bdd::tracking
