#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace bdd::test {

// A private directory under /tmp, removed with everything in it when the object dies.
class TempDir {
public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return m_path; }
  // Write `content` to `relative` (parents created) and return its full path.
  std::filesystem::path write(const std::string& relative, std::string_view content) const;

private:
  std::filesystem::path m_path;
};

// The whole content of `path` ("" if it cannot be read).
std::string read_text(const std::filesystem::path& path);

} // namespace bdd::test
