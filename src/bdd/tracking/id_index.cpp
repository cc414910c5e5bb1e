#include "id_index.hpp"

#include <bdd/core/fs.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>

namespace bdd::tracking {

namespace {

void remove_database_files(const std::filesystem::path& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    std::filesystem::remove(path.string() + suffix, ec);
  }
}

constexpr std::string_view k_number_prefix = "\x1f"
                                             "n"; // model::Event's key of a number id

// The first `limit` ids by (file, line) of those offered, in a bounded max-heap.
class MissingFirst {
public:
  explicit MissingFirst(std::size_t limit) : m_limit(limit) {}

  void offer(const std::string& id, std::string file, std::uint64_t line) {
    if (m_limit == 0) {
      return;
    }
    if (m_heap.size() == m_limit) {
      const IdPlace& last = m_heap.front().second;
      if (std::tie(file, line) >= std::tie(last.file, last.line)) {
        return;
      }
      std::pop_heap(m_heap.begin(), m_heap.end(), later);
      m_heap.pop_back();
    }
    m_heap.push_back({id, {std::move(file), line}});
    std::push_heap(m_heap.begin(), m_heap.end(), later);
  }

  std::vector<std::pair<std::string, IdPlace>> sorted() && {
    std::sort_heap(m_heap.begin(), m_heap.end(), later);
    return std::move(m_heap);
  }

private:
  static bool later(const std::pair<std::string, IdPlace>& a,
                    const std::pair<std::string, IdPlace>& b) {
    return std::tie(a.second.file, a.second.line) < std::tie(b.second.file, b.second.line);
  }

  std::size_t m_limit;
  std::vector<std::pair<std::string, IdPlace>> m_heap;
};

class SqliteIdIndex final : public IdIndex {
public:
  explicit SqliteIdIndex(std::filesystem::path path)
      : m_path(std::move(path)),
        m_db(open_db(m_path)),
        m_insert(m_db, "INSERT OR IGNORE INTO seen(id, file, line) VALUES(?, ?, ?)"),
        m_find(m_db, "SELECT file, line FROM seen WHERE id = ?"),
        m_add_file(m_db, "INSERT INTO files(n, path) VALUES(?, ?)") {
    // One long transaction: the index is scratch, so nothing needs to be durable before the end.
    m_db.exec("BEGIN");
  }

  Result<std::optional<IdPlace>> add(std::string_view id, const IdPlace& place) override {
    return guarded([&]() -> std::optional<IdPlace> {
      const std::string text(id); // bind(const void*, int) would store a BLOB
      m_insert.bind(1, text);
      m_insert.bind(2, file_number(place.file));
      m_insert.bind(3, static_cast<int64_t>(place.line));
      const int changed = m_insert.exec();
      m_insert.reset();
      if (changed == 1) {
        return std::nullopt;
      }
      m_find.bind(1, text);
      std::optional<IdPlace> first;
      if (m_find.executeStep()) {
        first = IdPlace{file_path(m_find.getColumn(0).getInt64()),
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

  Result<StateComparison> compare_with_state(const std::filesystem::path& state_db,
                                             std::size_t limit) override {
    return guarded([&] {
      attach(state_db);
      // A state from before schema 3 may hold a number id as its bare text (see state.cpp):
      // then "\x1fn" + text here and the text there are the same id. They sort apart, so an id
      // left unmatched by the merge is looked up in its other form.
      const bool bare_numbers =
          m_db.execAndGet("SELECT EXISTS (SELECT 1 FROM state.meta WHERE key = 'bare_number_ids')")
              .getInt()
          != 0;
      SQLite::Statement here(m_db, "SELECT id, file, line FROM seen ORDER BY id");
      SQLite::Statement there(m_db, "SELECT id FROM state.ids ORDER BY id");
      SQLite::Statement in_state(m_db, "SELECT 1 FROM state.ids WHERE id = ?");
      StateComparison out;
      MissingFirst missing(limit);
      bool more_here = here.executeStep();
      bool more_there = there.executeStep();
      std::string here_id;
      std::string there_id;
      if (more_here) {
        here_id = here.getColumn(0).getString();
      }
      if (more_there) {
        there_id = there.getColumn(0).getString();
      }
      while (more_here || more_there) {
        const int order = !more_here ? 1 : !more_there ? -1 : here_id.compare(there_id);
        if (order < 0) { // only here
          if (!(bare_numbers && bare_form_in(in_state, here_id))) {
            out.missing += 1;
            missing.offer(here_id,
                          file_path(here.getColumn(1).getInt64()),
                          static_cast<std::uint64_t>(here.getColumn(2).getInt64()));
          }
        } else if (order > 0) { // only in the state
          if (!(bare_numbers && number_form_in(there_id))) {
            out.not_added += 1;
            if (out.not_added_first.size() < limit) {
              out.not_added_first.push_back(there_id);
            }
          }
        }
        if (order <= 0 && (more_here = here.executeStep())) {
          here_id = here.getColumn(0).getString();
        }
        if (order >= 0 && (more_there = there.executeStep())) {
          there_id = there.getColumn(0).getString();
        }
      }
      out.missing_first = std::move(missing).sorted();
      return out;
    });
  }

private:
  static SQLite::Database open_db(const std::filesystem::path& path) {
    remove_database_files(path);
    // Used from one thread: no SQLite mutexes.
    SQLite::Database db(path.string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
    db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384;");
    // A file is a number in `seen`, so that a row is about as small as its id.
    db.exec("CREATE TABLE files(n INTEGER PRIMARY KEY, path TEXT NOT NULL);"
            "CREATE TABLE seen(id TEXT PRIMARY KEY, file INTEGER NOT NULL, line INTEGER NOT NULL)"
            " WITHOUT ROWID");
    return db;
  }

  // The number of `file` in the files table, added if new. Ids come file by file, so the last
  // one is checked first.
  std::int64_t file_number(const std::string& file) {
    if (!m_paths.empty() && m_paths[static_cast<std::size_t>(m_last_file)] == file) {
      return m_last_file;
    }
    auto [it, added] = m_numbers.try_emplace(file, static_cast<std::int64_t>(m_paths.size()));
    if (added) {
      m_add_file.bind(1, it->second);
      m_add_file.bind(2, file);
      m_add_file.exec();
      m_add_file.reset();
      m_paths.push_back(file);
    }
    m_last_file = it->second;
    return m_last_file;
  }

  const std::string& file_path(std::int64_t number) const {
    return m_paths.at(static_cast<std::size_t>(number));
  }

  // Whether `id`, a number's key here, is in the state as its bare text.
  static bool bare_form_in(SQLite::Statement& in_state, const std::string& id) {
    if (!id.starts_with(k_number_prefix)) {
      return false;
    }
    in_state.bind(1, id.substr(k_number_prefix.size()));
    const bool found = in_state.executeStep();
    in_state.reset();
    return found;
  }

  // Whether the state's `id`, a bare number text, was added here as a number's key.
  bool number_form_in(const std::string& id) {
    m_find.bind(1, std::string(k_number_prefix) + id);
    const bool found = m_find.executeStep();
    m_find.reset();
    return found;
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
  SQLite::Statement m_add_file;
  std::unordered_map<std::string, std::int64_t> m_numbers; // of the files table
  std::vector<std::string> m_paths;                        // by number
  std::int64_t m_last_file = 0;
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
  Result<StateComparison> compare_with_state(const std::filesystem::path& state_db,
                                             std::size_t limit) override {
    return m_index->compare_with_state(state_db, limit);
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

void remove_id_index(const std::filesystem::path& path) {
  remove_database_files(path);
}

namespace {

std::filesystem::path lock_of(const std::filesystem::path& folder) {
  return folder.string() + ".lock";
}

// Remove what a process killed while it used `lock`'s folder left: only if no process holds the
// lock, and while holding it, the lock file last (a process that finds it gone has nothing to do).
void remove_if_abandoned(const std::filesystem::path& lock) {
  auto held = FileLock::acquire(lock, "a scratch folder");
  if (!held) {
    return; // in use, or not ours to judge
  }
  const auto folder = std::filesystem::path(lock).replace_extension();
  if (fs::remove_tree(folder)) {
    std::error_code ec;
    std::filesystem::remove(lock, ec);
  }
}

} // namespace

ScratchFolder::ScratchFolder(std::filesystem::path path, FileLock lock)
    : m_path(std::move(path)),
      m_lock(std::move(lock)) {}

ScratchFolder::ScratchFolder(ScratchFolder&& other) noexcept
    : m_path(std::exchange(other.m_path, {})),
      m_lock(std::move(other.m_lock)) {}

ScratchFolder::~ScratchFolder() {
  if (m_path.empty()) {
    return;
  }
  if (fs::remove_tree(m_path)) {
    std::error_code ec;
    std::filesystem::remove(lock_of(m_path), ec);
  }
}

Result<ScratchFolder> ScratchFolder::create(const std::filesystem::path& dir,
                                            std::string_view prefix) {
  const std::string stem = std::string(prefix) + "-";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(stem) && name.ends_with(".lock") && entry.is_regular_file(ec)
        && !entry.is_symlink(ec)) {
      remove_if_abandoned(entry.path());
    }
  }
  std::random_device device;
  const auto folder = dir / (stem + std::to_string(::getpid()) + "-" + std::to_string(device()));
  // Locked under a name the clean-up above does not match, then renamed: another process never
  // sees the lock file before it is held.
  const std::filesystem::path unheld = folder.string() + ".new";
  BDD_TRY_ASSIGN(FileLock lock, FileLock::acquire(unheld, "a scratch folder"));
  std::filesystem::rename(unheld, lock_of(folder), ec);
  if (ec || !std::filesystem::create_directory(folder, ec) || ec) {
    const int err = ec ? ec.value() : EEXIST;
    std::filesystem::remove(unheld, ec);
    std::filesystem::remove(lock_of(folder), ec);
    return Error(Errc::storage, fs::describe_errno("cannot create", folder, err));
  }
  return ScratchFolder(folder, std::move(lock));
}

} // namespace bdd::tracking
