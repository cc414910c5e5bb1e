#pragma once

#include <bdd/core/result.hpp>

#include <cstdint>
#include <filesystem>
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
