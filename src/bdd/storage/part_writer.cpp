#include "part_writer.hpp"

#include "file_io.hpp"
#include "parquet_file.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/core/sha256.hpp>
#include <bdd/storage/layout.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <unordered_map>
#include <vector>

namespace bdd::storage {

namespace {

namespace stdfs = std::filesystem;

// "20261207T170600123456Z-<pid>": the run's part files sort after every earlier run's (runs of
// a study follow each other under its lock) and no two runs share it.
std::string make_run_name() {
  const auto now = std::chrono::system_clock::now();
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text,
                sizeof text,
                "%04d%02d%02dT%02d%02d%02d%06lldZ-%ld",
                utc.tm_year + 1900,
                utc.tm_mon + 1,
                utc.tm_mday,
                utc.tm_hour,
                utc.tm_min,
                utc.tm_sec,
                static_cast<long long>(micros % 1'000'000),
                static_cast<long>(::getpid()));
  return text;
}

// What a buffered event costs, about: its text and the Event holding it (several hundred bytes
// of strings and optionals, as much as a small event's text).
std::uint64_t event_bytes(const model::Event& event) {
  // Per event: sizes only, no temporary strings (value_or("") would copy each field).
  const auto size = [](const std::optional<std::string>& field) {
    return field ? field->size() : 0;
  };
  return sizeof(model::Event) + event.id.size() + event.user_id.size() + event.event_type.size()
         + event.raw.size() + size(event.element_id) + size(event.timestamp)
         + size(event.stored_timestamp) + size(event.page_url);
}

class PartWriter final : public Writer {
public:
  explicit PartWriter(WriterOptions options)
      : m_options(std::move(options)),
        m_run(make_run_name()) {}

  void prepare(model::Event& event) const override {
    event.prepared = model::Event::Prepared{leaf_of(event), {}};
  }

  Result<void> write(const model::Event& event) override {
    if (m_closed) {
      return Error(Errc::internal, "storage writer used after close");
    }
    if (!event.unusable.empty()) {
      return Error(Errc::internal, "an unusable event was handed to the storage writer");
    }
    std::string leaf = event.prepared ? event.prepared->leaf : leaf_of(event);
    auto [slot, inserted] = m_pending.index.try_emplace(std::move(leaf), m_pending.leaves.size());
    if (inserted) {
      m_pending.leaves.push_back({slot->first, {}});
    }
    model::Event& kept = m_pending.leaves[slot->second].events.emplace_back(event);
    kept.prepared.reset();
    m_pending.bytes += event_bytes(kept);
    return ok();
  }

  std::uint64_t buffered_bytes() const override { return m_pending.bytes; }

  void seal_batch() override {
    if (m_is_sealed) {
      return;
    }
    m_sealed = std::move(m_pending);
    m_pending = Batch();
    m_is_sealed = true;
  }

  // Journal a new part for every leaf (size 0: rollback removes it), then write them one leaf
  // at a time (each encoded in memory, written, fdatasync'ed; its events released), then fsync
  // the folders that gained entries; or, from k_sync_whole_fs_leaves leaves, one syncfs() for
  // all of it (a deep folder_structure touches thousands of leaves per commit).
  Result<std::vector<FileExtent>> commit(const JournalFn& journal,
                                         const WrittenFn& written) override {
    if (m_closed) {
      return Error(Errc::internal, "storage writer used after close");
    }
    seal_batch();
    const stdfs::path& root = m_options.study_dir;
    BDD_TRY_ASSIGN(fs::UniqueFd root_fd, open_study_directory(root));
    std::vector<FileExtent> before;
    before.reserve(m_sealed.leaves.size());
    for (const Leaf& leaf : m_sealed.leaves) {
      char seq[32];
      std::snprintf(seq, sizeof seq, "%06llu", static_cast<unsigned long long>(++m_seq));
      std::string name = "part-" + m_run + "-" + seq + ".parquet";
      before.push_back({leaf.dir.empty() ? name : leaf.dir + "/" + name, 0});
    }
    BDD_TRY(journal(before));
    const bool sync_per_file = m_sealed.leaves.size() < k_sync_whole_fs_leaves;
    std::vector<stdfs::path> dirs_to_sync;
    std::vector<FileExtent> after;
    after.reserve(before.size());
    std::string bytes;
    for (std::size_t i = 0; i < m_sealed.leaves.size(); ++i) {
      Leaf& leaf = m_sealed.leaves[i];
      const std::string& relative = before[i].relative_path;
      const stdfs::path path = root / relative;
      bytes.clear();
      parquet::FileWriterOptions encoding;
      encoding.study_name = m_options.study_name;
      BDD_TRY_ASSIGN(auto encoder,
                     parquet::make_file_writer(
                         [&bytes](std::string_view piece) -> Result<void> {
                           bytes.append(piece);
                           return ok();
                         },
                         encoding));
      for (model::Event& event : leaf.events) {
        BDD_TRY(encoder->add(event));
        event = model::Event(); // its bytes are in the encoder's columns now: free them
      }
      BDD_TRY(encoder->finish());
      std::deque<model::Event>().swap(leaf.events); // this leaf's memory goes now
      BDD_TRY_ASSIGN(const int opened, create_beneath(root_fd.get(), root, relative));
      fs::UniqueFd fd(opened);
      BDD_TRY(pwrite_all(fd.get(), 0, {bytes}, path));
      if ((sync_per_file && ::fdatasync(fd.get()) != 0) || !fd.close()) {
        return storage_error("cannot write", path, errno);
      }
      if (sync_per_file) {
        add_ancestors(root, stdfs::path(relative), dirs_to_sync);
      }
      if (written) {
        written({relative, 0}, {bytes});
      }
      after.push_back({relative, bytes.size()});
    }
    if (sync_per_file) {
      BDD_TRY(sync_directories(dirs_to_sync));
    } else if (::syncfs(root_fd.get()) != 0) {
      return storage_error("cannot write", root, errno);
    }
    m_sealed = Batch();
    m_is_sealed = false;
    return after;
  }

  // A part is never changed: size 0 removes it (and folders left empty), any other size must
  // be its size already.
  Result<void> rollback(const FileExtent& extent) override {
    const stdfs::path relative(extent.relative_path);
    const stdfs::path path = m_options.study_dir / relative;
    if (!is_plain_relative(relative)
        || !is_data_file_name(format_info(Format::parquet), relative.filename().string())) {
      return Error(Errc::storage,
                   "cannot roll back \"" + extent.relative_path
                       + "\": not a parquet part file inside \"" + m_options.study_dir.string()
                       + "\"");
    }
    BDD_TRY_ASSIGN(fs::UniqueFd root_fd, open_study_directory(m_options.study_dir));
    if (extent.size == 0) {
      return remove_created_file(root_fd.get(), m_options.study_dir, relative);
    }
    struct stat info {};
    if (::fstatat(root_fd.get(), extent.relative_path.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      return open_error("cannot roll back", path, errno);
    }
    if (!S_ISREG(info.st_mode) || static_cast<std::uint64_t>(info.st_size) != extent.size) {
      return Error(Errc::storage,
                   "cannot roll back \"" + path.string() + "\": it is not the "
                       + std::to_string(extent.size)
                       + "-byte part file that was committed (was it edited or replaced?)");
    }
    return ok();
  }

  Result<void> close() override {
    m_closed = true;
    m_pending = Batch();
    m_sealed = Batch();
    m_is_sealed = false;
    return ok();
  }

private:
  struct Leaf {
    std::string dir; // '/'-separated, "" for the study's root
    // A deque: growing it never holds two copies of the events, as a vector's reallocation does.
    std::deque<model::Event> events;
  };
  struct Batch {
    std::vector<Leaf> leaves;
    std::unordered_map<std::string, std::size_t> index;
    std::uint64_t bytes = 0;
  };

  std::string leaf_of(const model::Event& event) const {
    return leaf_directory_string(event, m_options.folder_structure, m_options.naming);
  }

  WriterOptions m_options;
  std::string m_run;
  std::uint64_t m_seq = 0;
  Batch m_pending;
  Batch m_sealed; // only commit() touches it once sealed
  bool m_is_sealed = false;
  bool m_closed = false;
};

// The hex SHA-256 of the whole file, read through no link.
Result<std::string> hash_whole_file(const stdfs::path& path) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    return open_error("cannot read", path, errno);
  }
  Sha256 hash;
  std::string buffer(std::size_t{1} << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return storage_error("cannot read", path, errno);
    }
    if (n == 0) {
      break;
    }
    hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  }
  return hash.finish_hex();
}

// verify's and repair's view of a part file: its rows' ids, the row number as the line.
class PartReader final : public EventReader {
public:
  PartReader(stdfs::path path, std::unique_ptr<parquet::FileReader> rows)
      : m_path(std::move(path)),
        m_rows(std::move(rows)) {}

  Result<std::optional<StoredRecord>> next() override {
    auto row = m_rows->next();
    if (!row) {
      m_error_line = m_line + 1;
      return std::move(row).error();
    }
    if (!*row) {
      return std::optional<StoredRecord>();
    }
    ++m_line;
    m_record.id = std::move((*row)->id);
    m_record.line = m_line;
    m_record.bytes = {};
    m_record.end_offset = 0; // a part is all or nothing: no record lies past a committed size
    return std::optional<StoredRecord>(m_record);
  }

  std::uint64_t error_line() const override { return m_error_line; }
  const std::string& head() const override { return m_head; }
  // Read again, apart from the rows: the codec reads by row group, not as one stream.
  Result<std::string> file_sha256() override { return hash_whole_file(m_path); }

private:
  stdfs::path m_path;
  std::unique_ptr<parquet::FileReader> m_rows;
  StoredRecord m_record;
  std::uint64_t m_line = 0;
  std::uint64_t m_error_line = 0;
  std::string m_head;
};

// export's view of a part file: its rows as events (the selection is for databases).
class PartSource final : public EventSource {
public:
  explicit PartSource(std::unique_ptr<parquet::FileReader> rows) : m_rows(std::move(rows)) {}

  Result<bool> next(model::Event& out) override {
    auto row = m_rows->next();
    if (!row) {
      m_error_line = m_line + 1;
      return std::move(row).error();
    }
    if (!*row) {
      return false;
    }
    ++m_line;
    out = std::move(**row);
    return true;
  }

  std::uint64_t error_line() const override { return m_error_line; }

private:
  std::unique_ptr<parquet::FileReader> m_rows;
  std::uint64_t m_line = 0;
  std::uint64_t m_error_line = 0;
};

Result<std::unique_ptr<parquet::FileReader>> open_rows(const stdfs::path& path) {
  auto rows = parquet::open_file_reader(path);
  if (!rows) {
    const Error& error = rows.error();
    return Error(error.code, "cannot read \"" + path.string() + "\": " + error.message);
  }
  return std::move(*rows);
}

} // namespace

Result<std::unique_ptr<Writer>> make_parquet_writer(const WriterOptions& options) {
  return std::unique_ptr<Writer>(std::make_unique<PartWriter>(options));
}

Result<std::unique_ptr<EventReader>> open_parquet_reader(const stdfs::path& path,
                                                         const ReadOptions& /*options*/) {
  BDD_TRY_ASSIGN(auto rows, open_rows(path));
  return std::unique_ptr<EventReader>(std::make_unique<PartReader>(path, std::move(rows)));
}

Result<std::unique_ptr<EventSource>> open_parquet_source(const stdfs::path& path,
                                                         const Selection& /*selection*/) {
  BDD_TRY_ASSIGN(auto rows, open_rows(path));
  return std::unique_ptr<EventSource>(std::make_unique<PartSource>(std::move(rows)));
}

} // namespace bdd::storage
