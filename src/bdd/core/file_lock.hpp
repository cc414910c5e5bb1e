#pragma once

#include <bdd/core/result.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

namespace bdd {

// An advisory lock on a file (flock), exclusive or shared, held until destruction. The kernel
// releases it when the process dies, so a lock left by a killed process never blocks the next run.
class FileLock {
public:
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  ~FileLock();

  // Take the lock on `path` (created if missing) without waiting, and record in it who holds it
  // ("pid <pid> on <host> since <UTC time>"). Fails with Errc::locked, naming the holder, if
  // another process holds it (saying it is an export or a verify when only shared holders have it);
  // with Errc::storage if the file cannot be created.
  static Result<FileLock> acquire(const std::filesystem::path& path, const std::string& what);

  // Take the lock on `path` (created if missing) shared: any number of shared holders at once,
  // none while an exclusive one (a download) holds it. If one does, calls `on_wait` once with
  // who holds it (as `acquire` recorded it, or "holder unknown") and waits until it is
  // released, checking `stop` (may be null) every 50 ms: set, it fails with Errc::interrupted.
  // Records no holder (the file names the last exclusive one). Fails with Errc::storage if the
  // file cannot be created.
  static Result<FileLock> acquire_shared(const std::filesystem::path& path,
                                         const std::function<void(const std::string&)>& on_wait,
                                         const std::atomic<bool>* stop);

private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

} // namespace bdd
