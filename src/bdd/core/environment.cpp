#include "environment.hpp"

#include <cstring>

extern char** environ;

namespace bdd {

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry && *entry; ++entry) {
    if (const char* equals = std::strchr(*entry, '=')) {
      environment.emplace(std::string(*entry, static_cast<std::size_t>(equals - *entry)),
                          std::string(equals + 1));
    }
  }
  return environment;
}

} // namespace bdd
