#include "state_check.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/storage/sqlite_writer.hpp>
#include <bdd/tracking/records.hpp>

#include <sys/stat.h>

#include <chrono>
#include <unordered_set>

namespace bdd::ops {

namespace {

namespace stdfs = std::filesystem;

// How often the whole study folder is walked when nothing else asks for it (see
// check_state_describes_files): once a day costs a cron job of 5-minute runs one walk in 288.
constexpr std::int64_t k_tree_check_interval_s = 24 * 60 * 60;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error link_found(const config::Config& config, const stdfs::path& shown) {
  return {Errc::storage,
          "study \"" + config.study_name + "\": \"" + shown.string()
              + "\" is a symbolic link; bdd does not follow links inside a study and wrote "
                "nothing (remove the link)"};
}

// One line: what does not match, why that matters, and the fix.
Error refuse(const config::Config& config, const std::string& what) {
  return {Errc::storage,
          "study \"" + config.study_name + "\": " + what
              + "; downloading now could store events a second time, so nothing was written "
                "(run `bdd download "
              + config.study_name + " --repair` to rebuild the state from the files)"};
}

bool is_data_file_name(const std::string& relative) {
  const std::size_t slash = relative.rfind('/');
  const std::string_view name =
      std::string_view(relative).substr(slash == std::string::npos ? 0 : slash + 1);
  return std::any_of(formats().begin(), formats().end(), [name](const FormatInfo& format) {
    return bdd::is_data_file_name(format, name);
  });
}

Result<void> check_text_files(const config::Config& config,
                              const stdfs::path& study_dir,
                              tracking::State& state) {
  std::unordered_set<std::string> known;
  BDD_TRY_ASSIGN(auto files, state.files());
  for (auto& file : files) {
    known.insert(std::move(file.path));
  }
  BDD_TRY_ASSIGN(auto pending, state.pending()); // files a crashed commit created
  for (auto& file : pending) {
    known.insert(std::move(file.path));
  }
  std::optional<Error> found;
  auto visit = [&](const std::string& relative, fs::EntryType type) -> Result<bool> {
    const std::string shown = (study_dir / relative).string();
    if (found) {
      return false;
    }
    // Hidden entries are bdd's own (.bdd/, .metadata.json, ...) or the user's: leaves never
    // start with '.' (see storage::leaf_directory).
    if (relative.front() == '.' || relative.find("/.") != std::string::npos) {
      return false;
    }
    if (type == fs::EntryType::symlink) {
      found = link_found(config, shown);
      return false;
    }
    if (type == fs::EntryType::regular && is_data_file_name(relative) && !known.count(relative)) {
      found = refuse(config,
                     "\"" + shown + "\" is a data file that its download state in \""
                         + (study_dir / ".bdd").string()
                         + "\" does not record (the state is missing or older than the data)");
    }
    return type == fs::EntryType::directory;
  };
  BDD_TRY(fs::walk_tree(study_dir, visit));
  if (found) {
    return *found;
  }
  return ok();
}

// Every recorded data file and each folder on its way from the study folder, by lstat (each
// folder once): a link there would make the next append go elsewhere. Without the walk, this
// is what finds a link planted in place of a stored file or of one of its folders.
Result<void> check_recorded_paths(const config::Config& config,
                                  const stdfs::path& study_dir,
                                  const std::vector<tracking::FileRecord>& files) {
  std::unordered_set<std::string> checked_folders;
  for (const auto& file : files) {
    std::size_t slash = 0;
    for (;;) {
      slash = file.path.find('/', slash + 1);
      const bool leaf = slash == std::string::npos;
      const std::string relative = leaf ? file.path : file.path.substr(0, slash);
      if (leaf || checked_folders.insert(relative).second) {
        const stdfs::path path = study_dir / relative;
        struct stat info {};
        if (::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode)) {
          return link_found(config, path);
        }
        // Missing, or any other problem: the size check that follows names it.
      }
      if (leaf) {
        break;
      }
    }
  }
  return ok();
}

// Whether the walk must run (see check_state_describes_files).
Result<bool> walk_needed(const std::optional<tracking::Metadata>& metadata,
                         const tracking::Cursor& cursor,
                         tracking::State& state) {
  if (cursor.events_stored == 0 || !metadata || metadata->events_stored != cursor.events_stored) {
    return true;
  }
  BDD_TRY_ASSIGN(const auto checked_at, state.tree_checked_at());
  const std::int64_t now = unix_now();
  return !checked_at || now - *checked_at >= k_tree_check_interval_s || now < *checked_at;
}

Result<void>
check_database(const config::Config& config, const stdfs::path& study_dir, tracking::State& state) {
  auto counted = storage::sqlite_event_count(study_dir);
  if (!counted) {
    // A link or a damaged database: the writer refuses it when it opens it, with the advice
    // that fits (the link named, or `--fresh`).
    return ok();
  }
  const auto& rows = *counted;
  if (!rows) {
    return ok(); // a missing database is download's own check (it refuses one the state needs)
  }
  BDD_TRY_ASSIGN(std::uint64_t ids, state.id_count());
  const std::string db = "\"" + (study_dir / "events.sqlite").string() + "\"";
  if (ids == 0 && *rows > 0) {
    return refuse(config,
                  db + " holds " + std::to_string(*rows)
                      + " events but its download state records none (the state is missing)");
  }
  if (*rows < ids) {
    return refuse(config,
                  db + " holds " + std::to_string(*rows) + " events but the download state records "
                      + std::to_string(ids) + " (rows deleted by hand?)");
  }
  return ok();
}

} // namespace

Result<void> check_state_describes_files(const config::Config& config,
                                         const stdfs::path& study_dir,
                                         tracking::State& state) {
  BDD_TRY_ASSIGN(auto metadata, tracking::read_metadata(study_dir));
  BDD_TRY_ASSIGN(auto cursor, state.cursor());
  // `.metadata.json` is written only after the state it describes is durable, so it never
  // counts more than the state unless the state is older than the data.
  if (metadata && metadata->events_stored > cursor.events_stored) {
    return refuse(config,
                  "\"" + tracking::metadata_path(study_dir).string() + "\" counts "
                      + std::to_string(metadata->events_stored)
                      + " stored events but the download state in \""
                      + (study_dir / ".bdd").string() + "\" records "
                      + std::to_string(cursor.events_stored)
                      + " (the state is missing or older than the data)");
  }
  if (format_info(config.format).storage == FormatStorage::database) {
    return check_database(config, study_dir, state);
  }
  BDD_TRY_ASSIGN(const bool walk, walk_needed(metadata, cursor, state));
  if (!walk) {
    BDD_TRY_ASSIGN(const auto files, state.files());
    return check_recorded_paths(config, study_dir, files);
  }
  BDD_TRY(check_text_files(config, study_dir, state));
  return state.set_tree_checked_at(unix_now());
}

} // namespace bdd::ops
