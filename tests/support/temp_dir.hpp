#pragma once

// The one temporary-directory fixture of the tests, unit and end-to-end. Header-only: unit tests
// link their own module only, not bdd_test_support.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace bdd::test {

// The whole content of `path` ("" if it cannot be read).
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Replace the content of `path` with `text`; throws if it cannot be written.
inline void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

// Every file and directory under `root`: relative path ('/'-separated) -> file content, or
// "<dir>" for a directory. Two equal snapshots mean byte-identical trees.
inline std::map<std::string, std::string> snapshot(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const std::string relative = entry.path().lexically_relative(root).generic_string();
    out[relative] = entry.is_directory() ? std::string("<dir>") : read_text(entry.path());
  }
  return out;
}

// A private directory (mode 0700) under the system temp directory ($TMPDIR: ctest sets it to
// /dev/shm, where fsync costs nothing), removed with everything in it when the object dies, even
// where a test took permissions away.
class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bdd-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary directory in " + pattern);
    }
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
    if (ec) {
      // A test made a directory unreadable or unwritable: give every directory back to its
      // owner and try again.
      std::filesystem::permissions(
          m_path, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
      for (auto it = std::filesystem::recursive_directory_iterator(m_path, ec);
           !ec && it != std::filesystem::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) {
          std::filesystem::permissions(it->path(),
                                       std::filesystem::perms::owner_all,
                                       std::filesystem::perm_options::add,
                                       ec);
        }
      }
      std::filesystem::remove_all(m_path, ec);
    }
  }

  const std::filesystem::path& path() const { return m_path; }

  // Write `content` to `relative` (parents created) and return its full path.
  std::filesystem::path write(const std::string& relative, std::string_view content) const {
    auto full = m_path / relative;
    std::filesystem::create_directories(full.parent_path());
    write_text(full, content);
    return full;
  }

  // The content of `relative` ("" if it cannot be read).
  std::string read(const std::string& relative) const { return read_text(m_path / relative); }

private:
  std::filesystem::path m_path;
};

} // namespace bdd::test
