#pragma once

// The fake API's data: studies, their keys and their pre-rendered events, behind one
// std::shared_mutex. Pages are rendered under the shared lock, mutations take the exclusive one,
// so every page is a consistent snapshot even while tests mutate a study.

#include <fake_api/fake_api.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::fake_api {

class StudyStore {
public:
  enum class Access { granted, unknown_study, wrong_key, wrong_key_forbidden };

  struct Page {
    std::string body;
    std::size_t event_count = 0;
  };

  // Throws std::invalid_argument if a study of that name exists.
  void add(StudyOptions study);
  // Throws std::invalid_argument for an unknown study (as do all mutators below).
  void set_key(std::string_view study, std::string key);
  bool contains(std::string_view study) const;
  Access check_access(std::string_view study, std::string_view key) const;

  // Renders {"events":[...],"total":T,"offset":N,"limit":L} for up to `limit` events from
  // `offset` (an empty list past the end). Without `include_total` the `total` key is left out.
  // Returns nullopt for an unknown study.
  std::optional<Page> render_page(std::string_view study,
                                  std::uint64_t offset,
                                  std::size_t limit,
                                  bool include_total) const;

  // Claims the next `options.count` sequence numbers and the time span after the study's last
  // generated event, and returns `options` with `start_index` and `start_time_ms` set to them.
  // Claiming before generating keeps ids unique even when generation runs outside the lock.
  GeneratorOptions claim_generation(std::string_view study, GeneratorOptions options);

  void append(std::string_view study, std::vector<std::string> events);
  // Throws std::out_of_range if `index` > total.
  void insert(std::string_view study, std::size_t index, std::vector<std::string> events);
  // Throws std::out_of_range if `index` > total; `count` is clipped to the end.
  void remove(std::string_view study, std::size_t index, std::size_t count);
  // See FakeApi::swap_ranges.
  void swap_ranges(std::string_view study,
                   std::size_t first,
                   std::size_t first_count,
                   std::size_t second,
                   std::size_t second_count);

  // Runs `edit` on the study's events under the exclusive lock, for several changes that no page
  // may see half done (scheduled mutations).
  void edit(std::string_view study, const std::function<void(std::vector<std::string>&)>& edit);

  std::size_t total(std::string_view study) const;
  std::vector<std::string> events(std::string_view study) const;
  std::vector<std::string> names() const;

private:
  struct Study {
    StudyOptions options;
    std::vector<std::string> events;
    std::uint64_t next_sequence = 0;
    std::int64_t next_time_ms = k_default_start_time_ms;
  };

  Study& find(std::string_view name);
  const Study& find(std::string_view name) const;

  mutable std::shared_mutex m_mutex;
  std::map<std::string, Study, std::less<>> m_studies;
};

} // namespace bdd::fake_api
