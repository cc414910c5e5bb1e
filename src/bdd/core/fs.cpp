#include "fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bdd::fs {

namespace {

Result<void> write_all(int fd, std::string_view data, const stdfs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error(Errc::storage, describe_errno("cannot write", path, errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

} // namespace

UniqueFd::~UniqueFd() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

bool UniqueFd::close() {
  const int fd = release();
  return ::close(fd) == 0;
}

std::string describe_errno(std::string_view action, const stdfs::path& path, int err) {
  std::string text(action);
  text += " \"";
  text += path.string();
  text += "\": ";
  std::string reason = std::strerror(err);
  if (!reason.empty() && reason[0] >= 'A' && reason[0] <= 'Z') {
    reason[0] = static_cast<char>(reason[0] - 'A' + 'a'); // our messages are lower case
  }
  text += reason;
  if (err == ENOSPC || err == EDQUOT) {
    text += " (free some space, then run the same command again)";
  } else if (err == EACCES || err == EPERM || err == EROFS) {
    text += " (check the permissions of the data directory)";
  } else if (err == EFBIG) {
    text += " (a file size limit was reached: raise `ulimit -f`, then run the same command again)";
  }
  return text;
}

Result<void> write_file_atomic(const stdfs::path& path, std::string_view content) {
  stdfs::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      return Error(Errc::storage, describe_errno("cannot create", tmp, errno));
    }
    if (auto written = write_all(fd.get(), content, tmp); !written) {
      ::unlink(tmp.c_str());
      return written;
    }
    if (::fsync(fd.get()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Error(Errc::storage, describe_errno("cannot write", tmp, err));
    }
    if (::close(fd.release()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Error(Errc::storage, describe_errno("cannot write", tmp, err));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error(Errc::storage, describe_errno("cannot replace", path, err));
  }
  return sync_directory(path.has_parent_path() ? path.parent_path() : stdfs::path("."));
}

Result<std::string> read_file(const stdfs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Error(Errc::storage, describe_errno("cannot open", path, errno));
  }
  std::string out;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error(Errc::storage, describe_errno("cannot read", path, errno));
    }
    if (n == 0) {
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

Result<void> create_directories(const stdfs::path& dir) {
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  if (ec) {
    std::string message = describe_errno("cannot create directory", dir, ec.value());
    if (ec.value() == ENOTDIR) {
      // Usually a configured data directory below a file: the path alone does not say which part.
      message += " (a part of the path is a file, not a directory: move it away or choose "
                 "another path)";
    }
    return Error(Errc::storage, message);
  }
  return ok();
}

Result<void> sync_directory(const stdfs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Error(Errc::storage, describe_errno("cannot open directory", dir, errno));
  }
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return Error(Errc::storage, describe_errno("cannot sync directory", dir, errno));
  }
  return ok();
}

Result<void> truncate_file(const stdfs::path& path, std::uint64_t size) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Error(Errc::storage, describe_errno("cannot open", path, errno));
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0 || ::fsync(fd.get()) != 0) {
    return Error(Errc::storage, describe_errno("cannot truncate", path, errno));
  }
  return ok();
}

std::optional<std::uint64_t> regular_file_size(const stdfs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(info.st_size);
}

std::uint64_t file_size_or_zero(const stdfs::path& path) {
  std::error_code ec;
  auto size = stdfs::file_size(path, ec);
  return ec ? 0 : static_cast<std::uint64_t>(size);
}

} // namespace bdd::fs
