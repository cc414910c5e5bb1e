#pragma once

#include <map>
#include <string>

namespace bdd {

// A copy of the process environment. Read once at the program's edge (the CLI, the public API)
// and passed down, so that the rest of bdd never calls getenv and tests can pass their own.
std::map<std::string, std::string> process_environment();

} // namespace bdd
