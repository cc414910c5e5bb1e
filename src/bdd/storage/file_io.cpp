#include "file_io.hpp"

#include <bdd/core/fs.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>

namespace bdd::storage {

namespace stdfs = std::filesystem;

Error storage_error(std::string_view action, const stdfs::path& path, int err) {
  return {Errc::storage, fs::describe_errno(action, path, err)};
}

Result<fs::UniqueFd> open_study_directory(const stdfs::path& dir) {
  fs::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    return storage_error("cannot open directory", dir, errno);
  }
  return fd;
}

Result<void> pwrite_all(int fd,
                        std::uint64_t offset,
                        const std::vector<std::string_view>& pieces,
                        const stdfs::path& path) {
  std::vector<iovec> left;
  left.reserve(pieces.size());
  for (std::string_view piece : pieces) {
    if (!piece.empty()) {
      left.push_back({const_cast<char*>(piece.data()), piece.size()});
    }
  }
  std::size_t first = 0;
  while (first < left.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(left.size() - first, IOV_MAX));
    const ssize_t n = ::pwritev(fd, &left[first], count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return storage_error("cannot write", path, errno);
    }
    if (n == 0) {
      return storage_error("cannot write", path, EIO); // not for regular files, but never spin
    }
    offset += static_cast<std::uint64_t>(n);
    for (auto done = static_cast<std::size_t>(n); done > 0;) {
      iovec& piece = left[first];
      const std::size_t step = std::min(done, piece.iov_len);
      piece.iov_base = static_cast<char*>(piece.iov_base) + step;
      piece.iov_len -= step;
      done -= step;
      if (piece.iov_len == 0) {
        ++first;
      }
    }
  }
  return ok();
}

// A leaf that is a link, or lies behind one: bdd writes nothing through it (it could point
// anywhere outside the study).
Error link_error(std::string_view action, const stdfs::path& path) {
  return {
      Errc::storage,
      std::string(action) + " \"" + path.string()
          + "\": it is, or lies in a folder that is, a symbolic link; bdd does not follow links "
            "inside a study (remove the link)"};
}

Error open_error(std::string_view action, const stdfs::path& path, int err) {
  return err == ELOOP ? link_error(action, path) : storage_error(action, path, err);
}

// Every directory whose entries lead from `root` to `relative_file`, `root` included: the ones
// to fsync so that a new file is still reachable after a power loss. Syncing the existing ones
// too covers a directory made by an earlier commit that failed before its own sync.
void add_ancestors(const stdfs::path& root,
                   const stdfs::path& relative_file,
                   std::vector<stdfs::path>& out) {
  stdfs::path current = root;
  out.push_back(current);
  for (const auto& part : relative_file.parent_path()) {
    current /= part;
    out.push_back(current);
  }
}

Result<void> sync_directories(std::vector<stdfs::path>& dirs) {
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  for (const auto& dir : dirs) {
    BDD_TRY(fs::sync_directory(dir));
  }
  return ok();
}

bool is_plain_relative(const stdfs::path& path) {
  if (path.empty() || path.is_absolute() || path.has_root_name()) {
    return false;
  }
  return std::none_of(path.begin(), path.end(), [](const stdfs::path& part) {
    return part == ".." || part == "." || part.empty();
  });
}

Result<int> create_beneath(int root_fd, const stdfs::path& root, const std::string& relative) {
  int opened = fs::open_beneath(root_fd, relative, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (opened < 0 && errno == ENOENT) { // its folder is new too
    const std::string parent = stdfs::path(relative).parent_path().string();
    if (fs::make_directories_beneath(root_fd, parent) != 0) {
      return open_error("cannot create directory", root / parent, errno);
    }
    opened = fs::open_beneath(root_fd, relative, O_WRONLY | O_CREAT | O_EXCL, 0644);
  }
  if (opened < 0 && errno == EEXIST) {
    return Error(Errc::storage,
                 "cannot create \"" + (root / relative).string()
                     + "\": a file that bdd did not write appeared there (move it away)");
  }
  if (opened < 0) {
    return open_error("cannot create", root / relative, errno);
  }
  return opened;
}

Result<void> remove_created_file(int root_fd,
                                 const stdfs::path& root,
                                 const stdfs::path& relative,
                                 std::vector<stdfs::path>* changed_dirs) {
  const stdfs::path path = root / relative;
  std::vector<stdfs::path> dirs_to_sync;
  const auto remove_entry = [&](const stdfs::path& entry, int flags) {
    const std::string parent = entry.parent_path().string();
    fs::UniqueFd parent_fd(parent.empty()
                               ? ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0)
                               : fs::open_beneath(root_fd, parent, O_RDONLY | O_DIRECTORY));
    if (parent_fd.get() < 0) {
      return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    }
    if (::unlinkat(parent_fd.get(), entry.filename().c_str(), flags) != 0) {
      return errno == ENOENT ? 0 : -1;
    }
    return 0;
  };
  if (remove_entry(relative, 0) != 0) {
    return open_error("cannot remove", path, errno);
  }
  dirs_to_sync.push_back(path.parent_path());
  for (stdfs::path dir = relative.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (remove_entry(dir, AT_REMOVEDIR) != 0) {
      break; // not empty: other leaves live there
    }
    dirs_to_sync.push_back((root / dir).parent_path());
  }
  dirs_to_sync.erase(std::remove_if(dirs_to_sync.begin(),
                                    dirs_to_sync.end(),
                                    [](const stdfs::path& dir) {
                                      struct stat dir_info {};
                                      return ::stat(dir.c_str(), &dir_info) != 0
                                             || !S_ISDIR(dir_info.st_mode);
                                    }),
                     dirs_to_sync.end());
  if (changed_dirs != nullptr) {
    changed_dirs->insert(changed_dirs->end(), dirs_to_sync.begin(), dirs_to_sync.end());
    return ok();
  }
  return sync_directories(dirs_to_sync);
}

} // namespace bdd::storage
