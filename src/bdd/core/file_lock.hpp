#pragma once

#include <bdd/core/result.hpp>

#include <filesystem>
#include <string>

namespace bdd {

// An exclusive advisory lock on a file (flock), held until destruction. The kernel releases it
// when the process dies, so a lock left by a killed process never blocks the next run.
class FileLock {
public:
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  ~FileLock();

  // Take the lock on `path` (created if missing) without waiting, and record in it who holds it
  // ("pid <pid> on <host> since <UTC time>"). Fails with Errc::locked, naming the holder, if
  // another process holds it; with Errc::storage if the file cannot be created.
  static Result<FileLock> acquire(const std::filesystem::path& path, const std::string& what);

private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

} // namespace bdd
