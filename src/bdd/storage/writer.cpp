#include "writer.hpp"

#include <bdd/core/fs.hpp>
#include <bdd/storage/csv_writer.hpp>
#include <bdd/storage/json_writer.hpp>
#include <bdd/storage/jsonl_writer.hpp>
#include <bdd/storage/sqlite_writer.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace bdd::storage {

namespace {

struct Entry {
  std::string_view name;
  Result<std::unique_ptr<Writer>> (*make)(const WriterOptions&);
};

// The closed set of formats, in the order help texts and error messages list them.
constexpr std::array k_writers = {
    Entry{"json", &make_json_writer},
    Entry{"jsonl", &make_jsonl_writer},
    Entry{"csv", &make_csv_writer},
    Entry{"sqlite", &make_sqlite_writer},
};

struct LevelName {
  Level level;
  std::string_view name;
};

constexpr std::array k_levels = {
    LevelName{Level::by_user_id, "by_user_id"},
    LevelName{Level::by_date, "by_date"},
    LevelName{Level::by_event_type, "by_event_type"},
};

// "json, jsonl, csv or sqlite"
std::string format_list() {
  std::string out;
  for (std::size_t i = 0; i < k_writers.size(); ++i) {
    if (i > 0) {
      out += i + 1 == k_writers.size() ? " or " : ", ";
    }
    out += k_writers[i].name;
  }
  return out;
}

// Writers create files lazily, so check up front that the study directory can take them.
Result<void> check_study_dir(const std::filesystem::path& dir) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot open", dir, errno));
  }
  if (!S_ISDIR(info.st_mode)) {
    return Error(Errc::storage, fs::describe_errno("cannot open", dir, ENOTDIR));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot write to", dir, errno));
  }
  return ok();
}

} // namespace

Result<std::unique_ptr<Writer>> make_writer(std::string_view format, const WriterOptions& options) {
  for (const Entry& entry : k_writers) {
    if (entry.name == format) {
      BDD_TRY(check_study_dir(options.study_dir));
      return entry.make(options);
    }
  }
  return Error(Errc::config,
               "unknown storage format \"" + std::string(format) + "\" (use " + format_list()
                   + ")");
}

std::vector<std::string_view> writer_formats() {
  std::vector<std::string_view> out;
  out.reserve(k_writers.size());
  for (const Entry& entry : k_writers) {
    out.push_back(entry.name);
  }
  return out;
}

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
