#include "file_lock.hpp"

#include <bdd/core/clock.hpp>
#include <bdd/core/fs.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <utility>

namespace bdd {

namespace {

// Who holds the lock open on `fd`, as the holder recorded it; "" if unknown.
std::string read_holder(int fd) {
  std::string holder;
  char buffer[256];
  ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n > 0) {
    holder.assign(buffer, static_cast<std::size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) {
      holder.pop_back();
    }
  }
  return holder;
}

} // namespace

FileLock::FileLock(FileLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) {
    ::close(m_fd); // closing the descriptor releases the flock
  }
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error(Errc::storage, fs::describe_errno("cannot create lock file", path, errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    const std::string holder = read_holder(fd);
    // Held, but a shared lock can be had: the holders are readers (bdd export, bdd verify),
    // which record no holder; the file names the last exclusive one.
    const bool readers = err == EWOULDBLOCK && ::flock(fd, LOCK_SH | LOCK_NB) == 0;
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return Error(Errc::storage, fs::describe_errno("cannot lock", path, err));
    }
    if (readers) {
      return Error(Errc::locked,
                   what
                       + " cannot run while bdd export or bdd verify reads the study; wait for "
                         "it to finish");
    }
    return Error(Errc::locked,
                 what + " is already running (" + (holder.empty() ? "holder unknown" : holder)
                     + "); wait for it to finish");
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string holder =
      "pid " + std::to_string(::getpid()) + " on " + host + " since " + utc_now() + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t written = ::pwrite(fd, holder.data(), holder.size(), 0);
  }
  return FileLock(fd);
}

Result<FileLock> FileLock::acquire_shared(const std::filesystem::path& path,
                                          const std::function<void(const std::string&)>& on_wait,
                                          const std::atomic<bool>* stop) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error(Errc::storage, fs::describe_errno("cannot create lock file", path, errno));
  }
  FileLock lock(fd);
  bool told = false;
  while (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Error(Errc::storage, fs::describe_errno("cannot lock", path, errno));
    }
    if (!told) {
      told = true;
      if (on_wait) {
        const std::string holder = read_holder(fd);
        on_wait(holder.empty() ? std::string("holder unknown") : holder);
      }
    }
    if (stop && stop->load()) {
      return Error(Errc::interrupted,
                   "interrupted while waiting for the lock on \"" + path.string() + "\"");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return lock;
}

} // namespace bdd
