#include "file_lock.hpp"

#include <bdd/core/clock.hpp>
#include <bdd/core/fs.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace bdd {

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
    std::string holder;
    char buffer[256];
    ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    if (n > 0) {
      holder.assign(buffer, static_cast<std::size_t>(n));
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) {
        holder.pop_back();
      }
    }
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return Error(Errc::storage, fs::describe_errno("cannot lock", path, err));
    }
    return Error(Errc::locked,
                 what + " is already running (" + (holder.empty() ? "holder unknown" : holder)
                     + "); wait for it to finish");
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string holder = "pid " + std::to_string(::getpid()) + " on " + host + " since " + utc_now()
                       + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t written = ::pwrite(fd, holder.data(), holder.size(), 0);
  }
  return FileLock(fd);
}

} // namespace bdd
