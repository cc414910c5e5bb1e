#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bdd::config_test {

// A private directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bdd-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }

  const std::filesystem::path& path() const { return m_path; }

  // Write `content` to `relative` (creating parent directories) and return its full path.
  std::filesystem::path write(const std::string& relative, std::string_view content) const {
    auto full = m_path / relative;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream out(full, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) {
      throw std::runtime_error("cannot write " + full.string());
    }
    return full;
  }

  // The content of `relative`.
  std::string read(const std::string& relative) const {
    std::ifstream in(m_path / relative, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

private:
  std::filesystem::path m_path;
};

// A file of the source tree, e.g. "settings/default_config.json" (found from this header's path,
// since unit tests get no BDD_SOURCE_DIR).
inline std::filesystem::path source_file(const std::string& relative) {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path()
         / relative;
}

} // namespace bdd::config_test
