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

struct NamingName {
  PartitionNaming naming;
  std::string_view name;
};

constexpr std::array k_namings = {
    NamingName{PartitionNaming::plain, "plain"},
    NamingName{PartitionNaming::hive, "hive"},
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

std::optional<PartitionNaming> parse_partition_naming(std::string_view name) {
  for (const NamingName& entry : k_namings) {
    if (entry.name == name) {
      return entry.naming;
    }
  }
  return std::nullopt;
}

std::string_view partition_naming_name(PartitionNaming naming) {
  for (const NamingName& entry : k_namings) {
    if (entry.naming == naming) {
      return entry.name;
    }
  }
  return "unknown";
}

} // namespace bdd::storage
