#include "inputs.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/storage/layout.hpp>

#include <algorithm>
#include <set>

namespace bdd::exporting {

namespace {

// Whether a folder named `name` at a level of kind `level` can hold an event `filter` keeps.
class FolderFilter {
public:
  FolderFilter(const Filter& filter, storage::PartitionNaming naming)
      : m_filter(filter),
        m_naming(naming) {
    for (const auto& user : filter.users) {
      m_users.insert(storage::folder_name(storage::Level::by_user_id, user, naming));
    }
    for (const auto& type : filter.event_types) {
      m_types.insert(storage::folder_name(storage::Level::by_event_type, type, naming));
    }
  }

  bool keeps(storage::Level level, const std::string& name) const {
    switch (level) {
    case storage::Level::by_user_id:
      return m_users.empty() || m_users.contains(name);
    case storage::Level::by_event_type:
      return m_types.empty() || m_types.contains(name);
    case storage::Level::by_date:
      break;
    }
    if (!m_filter.has_time() || m_filter.time_field != TimeField::stored_timestamp) {
      return true;
    }
    const auto value = storage::folder_value(storage::Level::by_date, name, m_naming);
    const auto day = value ? folder_day(*value) : std::nullopt;
    if (!day) {
      // `unknown-date`: no stored time model::utc_day reads, so none parse_instant reads.
      // Any other name is no folder bdd wrote: read it.
      return value != storage::k_unknown_date;
    }
    const Instant end = *day + k_microseconds_per_day;
    return (!m_filter.until || *day < *m_filter.until)
           && (!m_filter.since || end > *m_filter.since);
  }

private:
  const Filter& m_filter;
  storage::PartitionNaming m_naming;
  std::set<std::string> m_users;
  std::set<std::string> m_types;
};

std::size_t depth_of(const std::string& relative) {
  return static_cast<std::size_t>(std::count(relative.begin(), relative.end(), '/'));
}

std::string last_component(const std::string& relative) {
  const auto slash = relative.rfind('/');
  return slash == std::string::npos ? relative : relative.substr(slash + 1);
}

} // namespace

Result<std::vector<Input>> plan_inputs(const std::filesystem::path& study_dir,
                                       std::string_view format,
                                       const std::vector<storage::Level>& levels,
                                       storage::PartitionNaming naming,
                                       const Filter& filter) {
  const FormatInfo& info = format_info(format);
  const std::string data_name = "events." + std::string(info.extension);
  std::vector<Input> inputs;
  if (info.storage == FormatStorage::database) {
    const auto size = fs::regular_file_size(study_dir / data_name);
    if (!size) {
      return inputs;
    }
    if (!filter.users.empty()) {
      for (const auto& user : filter.users) {
        inputs.push_back({data_name, {user, std::nullopt}});
      }
    } else if (!filter.event_types.empty()) {
      for (const auto& type : filter.event_types) {
        inputs.push_back({data_name, {std::nullopt, type}});
      }
    } else {
      inputs.push_back({data_name, {}});
    }
    return inputs;
  }

  const FolderFilter folders(filter, naming);
  std::string link;
  BDD_TRY(fs::walk_tree(study_dir,
                        [&](const std::string& relative, fs::EntryType type) -> Result<bool> {
                          const std::string name = last_component(relative);
                          if (type == fs::EntryType::directory) {
                            if (name.starts_with('.')) {
                              return false;
                            }
                            const std::size_t depth = depth_of(relative);
                            return depth >= levels.size() || folders.keeps(levels[depth], name);
                          }
                          if (!is_data_file_name(info, name)) {
                            return false;
                          }
                          if (type == fs::EntryType::symlink) {
                            link = relative;
                          } else if (type == fs::EntryType::regular) {
                            inputs.push_back({relative, {}});
                          }
                          return false;
                        }));
  if (!link.empty()) {
    return Error(Errc::storage,
                 "\"" + (study_dir / link).string()
                     + "\" is a symbolic link; bdd follows no links inside a study (remove the "
                       "link, then run `bdd verify`)");
  }
  std::sort(
      inputs.begin(), inputs.end(), [](const Input& a, const Input& b) { return a.file < b.file; });
  return inputs;
}

} // namespace bdd::exporting
