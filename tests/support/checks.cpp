#include "checks.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace bdd::test {

namespace {

namespace stdfs = std::filesystem;

bool is_under(const stdfs::path& path, const stdfs::path& dir) {
  auto relative = path.lexically_normal().lexically_relative(dir.lexically_normal());
  return !relative.empty() && *relative.begin() != "..";
}

} // namespace

std::vector<std::string> unique_in_order(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto& id : ids) {
    if (seen.insert(id).second) {
      out.push_back(id);
    }
  }
  return out;
}

std::vector<std::string> repeated(const std::vector<std::string>& ids) {
  std::map<std::string, int> counts;
  for (const auto& id : ids) {
    ++counts[id];
  }
  std::vector<std::string> out;
  for (const auto& [id, count] : counts) {
    if (count > 1) {
      out.push_back(id);
    }
  }
  return out;
}

std::string describe_difference(const std::vector<std::string>& expected,
                                const std::vector<std::string>& stored) {
  std::multiset<std::string> want(expected.begin(), expected.end());
  std::multiset<std::string> have(stored.begin(), stored.end());
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  std::set_difference(
      want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(missing));
  std::set_difference(
      have.begin(), have.end(), want.begin(), want.end(), std::back_inserter(extra));
  std::string text = "server: " + std::to_string(expected.size())
                     + " events, stored: " + std::to_string(stored.size())
                     + ", missing: " + std::to_string(missing.size())
                     + ", extra or repeated: " + std::to_string(extra.size());
  for (std::size_t i = 0; i < std::min<std::size_t>(3, missing.size()); ++i) {
    text += "\n  missing " + missing[i];
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(3, extra.size()); ++i) {
    text += "\n  extra " + extra[i];
  }
  if (missing.empty() && extra.empty() && expected != stored) {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (expected[i] != stored[i]) {
        text += "\n  same ids, different order from position " + std::to_string(i);
        break;
      }
    }
  }
  return text;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::size_t line_count(std::string_view text) {
  auto count = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  return count + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.emplace_back(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return lines;
}

bool is_utc_time(const nlohmann::json& value) {
  static const std::regex k_pattern(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$)");
  return value.is_string() && std::regex_match(value.get<std::string>(), k_pattern);
}

void check_exact_copy(const Workspace& workspace) {
  const auto server_ids = workspace.server_ids();
  const auto expected = unique_in_order(server_ids);
  const auto stored_events = workspace.stored_events();
  std::vector<std::string> stored;
  for (const auto& event : stored_events) {
    stored.push_back(event.at("id").get<std::string>());
  }
  INFO(describe_difference(expected, stored));
  CHECK(repeated(stored).empty());
  // Every stored event keeps the raw event whole and unchanged in `data`.
  const auto server_events = workspace.server_events();
  std::unordered_map<std::string, const nlohmann::json*> raw_by_id;
  for (std::size_t i = 0; i < server_ids.size(); ++i) {
    raw_by_id.emplace(server_ids[i], &server_events[i]);
  }
  std::size_t altered = 0;
  for (const auto& event : stored_events) {
    auto found = raw_by_id.find(event.at("id").get<std::string>());
    if (found != raw_by_id.end() && data_field(event) != *found->second) {
      ++altered;
    }
  }
  CHECK(altered == 0);
  if (workspace.format() == "sqlite" || !workspace.nested()) {
    CHECK(stored == expected);
    return;
  }
  auto sorted_expected = expected;
  auto sorted_stored = stored;
  std::sort(sorted_expected.begin(), sorted_expected.end());
  std::sort(sorted_stored.begin(), sorted_stored.end());
  CHECK(sorted_stored == sorted_expected);
  std::unordered_map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    position.emplace(expected[i], i);
  }
  for (const auto& file : workspace.data_files()) {
    std::size_t previous = 0;
    bool first = true;
    bool ordered = true;
    for (const auto& event : read_events(file)) {
      auto found = position.find(event.at("id").get<std::string>());
      if (found == position.end()) {
        continue; // reported above as extra
      }
      ordered = ordered && (first || found->second > previous);
      previous = found->second;
      first = false;
    }
    INFO("data file " << file.string() << " is not in server order");
    CHECK(ordered);
  }
}

void check_files_confined(const Workspace& workspace) {
  const stdfs::path study_dir = workspace.study_dir();
  const stdfs::path lock =
      study_dir.parent_path() / ("." + std::string(Workspace::k_study) + ".lock");
  for (const auto& file : workspace.all_files()) {
    INFO("file " << file.string());
    for (const auto& part : file) {
      CHECK(part != "..");
    }
    // The daily JSON lines log of a non-interactive download: <data>/.logs/bdd-<day>.jsonl.
    bool daily_log =
        file.parent_path() == study_dir.parent_path() / ".logs" && file.extension() == ".jsonl";
    bool allowed =
        file == workspace.config_path() || file == lock || daily_log || is_under(file, study_dir);
    CHECK(allowed);
  }
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(workspace.dir(), ec);
       it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    INFO("path " << it->path().string());
    CHECK_FALSE(it->is_symlink());
  }
}

void check_secret_absent_from_files(const stdfs::path& dir, std::string_view secret) {
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      INFO("file " << entry.path().string() << " holds the API key");
      CHECK_FALSE(contains(read_text(entry.path()), secret));
    }
  }
}

std::string text_field(const nlohmann::json& event, const std::string& key) {
  auto it = event.find(key);
  if (it == event.end() || it->is_null()) {
    return k_null_field;
  }
  std::string text = it->is_string() ? it->get<std::string>() : it->dump();
  return text.empty() ? std::string(k_null_field) : text;
}

nlohmann::json data_field(const nlohmann::json& event) {
  const auto& data = event.at("data");
  return data.is_string() ? nlohmann::json::parse(data.get<std::string>()) : data;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return condition();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

HeldLock::HeldLock(const std::filesystem::path& path, int operation, const std::string& holder) {
  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(m_fd >= 0);
  REQUIRE(::flock(m_fd, operation) == 0);
  if (!holder.empty()) {
    REQUIRE(::ftruncate(m_fd, 0) == 0);
    REQUIRE(::pwrite(m_fd, holder.data(), holder.size(), 0) == static_cast<ssize_t>(holder.size()));
  }
}

void HeldLock::release() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
}

} // namespace bdd::test
