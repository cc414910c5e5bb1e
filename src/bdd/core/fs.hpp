#pragma once

#include <bdd/core/result.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace bdd::fs {

namespace stdfs = std::filesystem;

// A file descriptor closed when the object dies. `close()` reports the error a deferred write
// may surface there; `release()` gives up ownership.
class UniqueFd {
public:
  explicit UniqueFd(int fd) : m_fd(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  // Movable so that a function can return an opened descriptor in a Result.
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&&) = delete;
  ~UniqueFd();

  int get() const { return m_fd; }
  int release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
  }
  // Close now; false (errno set) if close() failed.
  bool close();

private:
  int m_fd;
};

// Replace `path` with `content` atomically and durably: write a sibling temporary file, fsync it,
// rename it over `path`, fsync the directory. Readers see the old or the new content, never a mix.
// Fails with Errc::storage naming the file (and ENOSPC/EACCES in words).
Result<void> write_file_atomic(const stdfs::path& path, std::string_view content);

// Read a whole file. Fails with Errc::storage if it cannot be opened or read.
Result<std::string> read_file(const stdfs::path& path);

// Create `dir` and its parents. Fails with Errc::storage naming the directory.
Result<void> create_directories(const stdfs::path& dir);

// Delete `dir` and everything in it; a link inside is removed, never what it points to. A
// missing `dir` is no error. Fails with Errc::storage naming what could not be removed.
Result<void> remove_tree(const stdfs::path& dir);

// fsync the directory `dir` so that entries created or renamed in it survive a power loss.
Result<void> sync_directory(const stdfs::path& dir);

// Truncate `path` to `size` bytes and fsync it.
Result<void> truncate_file(const stdfs::path& path, std::uint64_t size);

// Size of `path` in bytes, or 0 if it does not exist.
std::uint64_t file_size_or_zero(const stdfs::path& path);

// Size of `path` in bytes if it is a regular file (one system call); nullopt if it does not
// exist or is something else.
std::optional<std::uint64_t> regular_file_size(const stdfs::path& path);

// A message for errno `err` about `what` (a quoted path or action), e.g.
// "cannot write \"/data/x\": no space left on device".
std::string describe_errno(std::string_view action, const stdfs::path& path, int err);

} // namespace bdd::fs

namespace bdd::fs {

// Open `relative` (a plain relative path: no "..", no leading '/') beneath the directory
// `dir_fd` without following any symbolic link on the way, the last component included, so a
// link planted inside a study can never send a write outside it. Returns the descriptor, or -1
// with errno set (ELOOP when a component is a link, ENOENT when one is missing). Uses openat2
// with RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH (one system call, Linux 5.6+) and falls back to
// opening each directory in turn with O_NOFOLLOW | O_DIRECTORY. `flags` get O_NOFOLLOW and
// O_CLOEXEC added.
int open_beneath(int dir_fd, const std::string& relative, int flags, mode_t mode = 0);

// Create the missing directories of `relative_dir` beneath `dir_fd`, following no link (a link
// on the way fails with ELOOP). Returns 0, or -1 with errno set.
int make_directories_beneath(int dir_fd, const std::string& relative_dir);

// What `walk_tree` reports for each entry.
enum class EntryType { directory, regular, symlink, other };

// Visit every entry under `root`, depth first, without following links. `visit(relative, type)`
// gets the '/'-separated path relative to `root`; for a directory it returns whether to descend.
// A directory that cannot be read fails with Errc::storage naming it. Uses the d_type of
// readdir, so it makes no system call per file on file systems that fill it in.
Result<void>
walk_tree(const stdfs::path& root,
          const std::function<Result<bool>(const std::string& relative, EntryType type)>& visit);

} // namespace bdd::fs
