#include "writer.hpp"

#include <array>

namespace bdd::storage {

namespace {

struct LevelName {
  Level level;
  std::string_view name;
};

constexpr std::array k_levels = {
    LevelName{Level::by_user_id, "by_user_id"},
    LevelName{Level::by_date, "by_date"},
    LevelName{Level::by_event_type, "by_event_type"},
};

} // namespace

std::optional<Level> parse_level(std::string_view name) {
  for (const LevelName& entry : k_levels) {
    if (entry.name == name) {
      return entry.level;
    }
  }
  return std::nullopt;
}

std::string_view level_name(Level level) {
  for (const LevelName& entry : k_levels) {
    if (entry.level == level) {
      return entry.name;
    }
  }
  return "unknown";
}

} // namespace bdd::storage
