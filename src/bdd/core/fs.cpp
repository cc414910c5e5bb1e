#include "fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

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
  } else if (err == ELOOP) {
    text += " (it is a symbolic link, which bdd never follows: put the file itself there)";
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

Result<void> remove_tree(const stdfs::path& dir) {
  std::error_code ec;
  stdfs::remove_all(dir, ec); // removes links themselves, never their targets
  if (ec) {
    return Error(Errc::storage, describe_errno("cannot remove", dir, ec.value()));
  }
  return ok();
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
  // O_NOFOLLOW: a link planted at a data file's path must not have its target cut short.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
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
  // lstat: a link to a file of the right size is not the file bdd wrote.
  if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(info.st_size);
}

std::uint64_t file_size_or_zero(const stdfs::path& path) {
  std::error_code ec;
  auto size = stdfs::file_size(path, ec);
  return ec ? 0 : static_cast<std::uint64_t>(size);
}

namespace {

// Open each directory of `relative` in turn, none of them through a link: the fallback of
// open_beneath() where openat2 is missing (Linux before 5.6, or filtered by a sandbox).
int open_beneath_by_components(int dir_fd, const std::string& relative, int flags, mode_t mode) {
  int current = dir_fd;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t slash = relative.find('/', begin);
    if (slash == std::string::npos) {
      const int fd = ::openat(current, relative.c_str() + begin, flags, mode);
      const int err = errno;
      if (current != dir_fd) {
        ::close(current);
      }
      errno = err;
      return fd;
    }
    const std::string part = relative.substr(begin, slash - begin);
    const int next =
        ::openat(current, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const int err = errno;
    if (current != dir_fd) {
      ::close(current);
    }
    if (next < 0) {
      errno = err; // ELOOP for a link (O_NOFOLLOW)
      return -1;
    }
    current = next;
    begin = slash + 1;
  }
}

std::atomic<bool> g_no_openat2{false};

} // namespace

int open_beneath(int dir_fd, const std::string& relative, int flags, mode_t mode) {
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (!g_no_openat2.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH;
    for (;;) {
      const long fd = ::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof how);
      if (fd >= 0) {
        return static_cast<int>(fd);
      }
      if (errno == EAGAIN || errno == EINTR) {
        continue; // a rename raced with the lookup: try again
      }
      if (errno != ENOSYS && errno != EPERM) {
        return -1;
      }
      g_no_openat2 = true; // not available here: fall back for good
      break;
    }
  }
  return open_beneath_by_components(dir_fd, relative, flags, mode);
}

int make_directories_beneath(int dir_fd, const std::string& relative_dir) {
  if (relative_dir.empty()) {
    return 0;
  }
  const std::size_t slash = relative_dir.rfind('/');
  const std::string parent_dir = slash == std::string::npos ? "" : relative_dir.substr(0, slash);
  const auto open_parent = [&] {
    return parent_dir.empty() ? ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0)
                              : open_beneath(dir_fd, parent_dir, O_RDONLY | O_DIRECTORY);
  };
  // Usually only the innermost folder is new (a user's next day): open its parent, make it.
  int parent = open_parent();
  if (parent < 0 && errno == ENOENT && !parent_dir.empty()) {
    if (make_directories_beneath(dir_fd, parent_dir) != 0) {
      return -1;
    }
    parent = open_parent();
  }
  if (parent < 0) {
    return -1;
  }
  const UniqueFd parent_fd(parent);
  const std::string name = relative_dir.substr(slash == std::string::npos ? 0 : slash + 1);
  if (::mkdirat(parent_fd.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
    return -1;
  }
  return 0;
}

namespace {

Result<void> walk_directory(
    int dir_fd,
    const stdfs::path& root,
    const std::string& prefix,
    const std::function<Result<bool>(const std::string& relative, EntryType type)>& visit) {
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(dir_fd);
    return Error(Errc::storage, describe_errno("cannot read directory", root / prefix, err));
  }
  struct Closer {
    DIR* dir;
    ~Closer() { ::closedir(dir); }
  } closer{dir};
  std::vector<std::string> subdirectories;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    unsigned char d_type = entry->d_type;
    if (d_type == DT_UNKNOWN) {
      struct stat info {};
      if (::fstatat(::dirfd(dir), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0) {
        continue; // gone since readdir
      }
      d_type = S_ISDIR(info.st_mode)   ? DT_DIR
               : S_ISREG(info.st_mode) ? DT_REG
               : S_ISLNK(info.st_mode) ? DT_LNK
                                       : DT_UNKNOWN;
    }
    const EntryType type = d_type == DT_DIR   ? EntryType::directory
                           : d_type == DT_REG ? EntryType::regular
                           : d_type == DT_LNK ? EntryType::symlink
                                              : EntryType::other;
    std::string relative = prefix.empty() ? std::string(name) : prefix + "/" + std::string(name);
    BDD_TRY_ASSIGN(bool descend, visit(relative, type));
    if (type == EntryType::directory && descend) {
      subdirectories.push_back(std::move(relative));
    }
    errno = 0;
  }
  if (errno != 0) {
    return Error(Errc::storage, describe_errno("cannot read directory", root / prefix, errno));
  }
  for (const auto& sub : subdirectories) {
    const std::string name =
        sub.substr(sub.rfind('/') == std::string::npos ? 0 : sub.rfind('/') + 1);
    const int fd =
        ::openat(::dirfd(dir), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      return Error(Errc::storage, describe_errno("cannot open directory", root / sub, errno));
    }
    BDD_TRY(walk_directory(fd, root, sub, visit));
  }
  return ok();
}

} // namespace

Result<void>
walk_tree(const stdfs::path& root,
          const std::function<Result<bool>(const std::string& relative, EntryType type)>& visit) {
  const int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return ok();
    }
    return Error(Errc::storage, describe_errno("cannot open directory", root, errno));
  }
  return walk_directory(fd, root, "", visit);
}

} // namespace bdd::fs
