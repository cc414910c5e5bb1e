#pragma once

#include <bdd/core/file_lock.hpp>
#include <bdd/core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::tracking {

// Where an id was seen: a data file relative to the study folder and a line or record number
// (0 when the place has none, e.g. the server).
struct IdPlace {
  std::string file;
  std::uint64_t line = 0;
};

// What `IdIndex::compare_with_state` found.
struct StateComparison {
  std::uint64_t not_added = 0;              // ids of the state never added to the index
  std::vector<std::string> not_added_first; // the first of them in id order
  std::uint64_t missing = 0;                // ids added to the index that the state lacks
  std::vector<std::pair<std::string, IdPlace>> missing_first; // the first by (file, line)
};

// A scratch set of ids kept in a temporary SQLite file rather than in memory, so that `bdd
// verify` and `bdd download --repair` check studies of any size with flat memory. The file is
// deleted when the index is destroyed. Not durable (no fsync): it only lives for one command.
class IdIndex {
public:
  virtual ~IdIndex() = default;

  // Add `id`, seen at `place`. Returns nullopt if it is new, else the place where it was first
  // added (and keeps that one).
  virtual Result<std::optional<IdPlace>> add(std::string_view id, const IdPlace& place) = 0;

  // The number of ids added.
  virtual Result<std::uint64_t> size() = 0;

  // Compare with the ids table of the state database `state_db` (see `state_path`) in one
  // merge of the two id orders: the ids the state has that were never added here, and the ids
  // added here that the state lacks. `limit` bounds the lists, not the counts.
  virtual Result<StateComparison> compare_with_state(const std::filesystem::path& state_db,
                                                     std::size_t limit) = 0;
};

// Create an empty index in the file `path` (replacing any leftover of a killed run). Fails with
// Errc::storage naming the file.
Result<std::unique_ptr<IdIndex>> make_id_index(const std::filesystem::path& path);

// Remove the files of an index at `path` left by a killed run (nothing if there are none).
void remove_id_index(const std::filesystem::path& path);

// A folder for the scratch indexes of one process where others may make theirs at the same time
// (`bdd verify`s running together under the shared study lock): `<dir>/<prefix>-<pid>-<random>/`,
// with beside it the lock file `<same name>.lock`, which the process holds (flock) as long as it
// uses the folder, so that another one tells a folder in use from one a killed process left.
class ScratchFolder {
public:
  // Remove the folders of `prefix` in `dir` whose lock no process holds (what killed runs left),
  // then make a new one. Fails with Errc::storage naming what could not be made.
  static Result<ScratchFolder> create(const std::filesystem::path& dir, std::string_view prefix);

  ScratchFolder(ScratchFolder&& other) noexcept;
  ScratchFolder& operator=(ScratchFolder&&) = delete;
  // Removes the folder, then its lock file (whatever the folder still holds: close its files
  // first).
  ~ScratchFolder();

  const std::filesystem::path& path() const { return m_path; }

private:
  ScratchFolder(std::filesystem::path path, FileLock lock);

  std::filesystem::path m_path;
  FileLock m_lock;
};

} // namespace bdd::tracking
