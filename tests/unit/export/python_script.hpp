#pragma once

// Runs a Python script of a test on a file bdd wrote, with the system's Python (which has
// openpyxl, see scripts/install-deps.sh): readers users have, independent of bdd's own code.

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace bdd::test {

// What `script` prints when run on `file`, in the scratch folder `dir`; REQUIREs it succeeds.
inline std::string run_python_script(const std::filesystem::path& dir,
                                     const std::string& script,
                                     const std::filesystem::path& file) {
  const auto source = dir / "script.py";
  const auto out = dir / "script.out";
  write_text(source, script);
  const std::string command =
      "/usr/bin/python3 '" + source.string() + "' '" + file.string() + "' > '" + out.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  return read_text(out);
}

} // namespace bdd::test
