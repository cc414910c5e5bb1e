#include "mutation_schedule.hpp"

#include "fake_api_impl.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace bdd::fake_api {

namespace {

constexpr std::array<std::string_view, 6> k_kind_names = {
    "insert", "remove", "append", "remove_and_append", "reverse", "swap"};

using Events = std::vector<std::string>;

// [first, first + count) clipped to a list of `size` events.
std::pair<std::size_t, std::size_t> clip(std::size_t first, std::size_t count, std::size_t size) {
  first = std::min(first, size);
  return {first, first + std::min(count, size - first)};
}

// Moves [first, last) out of `events` and returns it.
Events take(Events& events, std::size_t first, std::size_t last) {
  const auto begin = events.begin() + static_cast<std::ptrdiff_t>(first);
  const auto end = events.begin() + static_cast<std::ptrdiff_t>(last);
  Events out(std::make_move_iterator(begin), std::make_move_iterator(end));
  events.erase(begin, end);
  return out;
}

// The number of events `mutation` generates.
std::size_t generated_count(const Mutation& mutation) {
  switch (mutation.kind) {
  case MutationKind::insert:
  case MutationKind::append:
  case MutationKind::remove_and_append:
    return mutation.count;
  case MutationKind::remove:
  case MutationKind::reverse:
  case MutationKind::swap:
    return 0;
  }
  return 0;
}

} // namespace

std::string_view mutation_kind_name(MutationKind kind) {
  return k_kind_names.at(static_cast<std::size_t>(kind));
}

std::optional<MutationKind> mutation_kind_from_name(std::string_view name) {
  for (std::size_t i = 0; i < k_kind_names.size(); ++i) {
    if (k_kind_names[i] == name) {
      return static_cast<MutationKind>(i);
    }
  }
  return std::nullopt;
}

Mutation Mutation::insert(std::size_t index, std::size_t count) {
  Mutation m;
  m.kind = MutationKind::insert;
  m.index = index;
  m.count = count;
  return m;
}

Mutation Mutation::remove(std::size_t index, std::size_t count) {
  Mutation m;
  m.kind = MutationKind::remove;
  m.index = index;
  m.count = count;
  return m;
}

Mutation Mutation::append(std::size_t count) {
  Mutation m;
  m.kind = MutationKind::append;
  m.count = count;
  return m;
}

Mutation Mutation::remove_and_append(std::size_t index, std::size_t count) {
  Mutation m;
  m.kind = MutationKind::remove_and_append;
  m.index = index;
  m.count = count;
  return m;
}

Mutation Mutation::reverse(std::size_t index, std::size_t count) {
  Mutation m;
  m.kind = MutationKind::reverse;
  m.index = index;
  m.count = count;
  return m;
}

Mutation Mutation::swap(std::size_t first,
                        std::size_t first_count,
                        std::size_t second,
                        std::size_t second_count) {
  Mutation m;
  m.kind = MutationKind::swap;
  m.index = first;
  m.count = first_count;
  m.second = second;
  m.second_count = second_count;
  return m;
}

Mutation& Mutation::answered_with(int status) {
  fail_status = status;
  return *this;
}

Mutation& Mutation::applied_before_answer() {
  before_answer = true;
  return *this;
}

void MutationSchedule::add(std::string study, std::uint64_t after_requests, Mutation mutation) {
  if (after_requests == 0) {
    throw std::invalid_argument("fake_api: a mutation is scheduled after 1 request or more");
  }
  const std::lock_guard lock(m_mutex);
  m_pending.push_back({std::move(study), after_requests, after_requests, std::move(mutation)});
}

std::vector<ScheduledMutation> MutationSchedule::count_request(std::string_view study) {
  const std::lock_guard lock(m_mutex);
  std::vector<ScheduledMutation> due;
  for (auto it = m_pending.begin(); it != m_pending.end();) {
    if (it->study == study && --it->requests_left == 0) {
      due.push_back(std::move(*it));
      it = m_pending.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

std::vector<ScheduledMutation> MutationSchedule::pending() const {
  const std::lock_guard lock(m_mutex);
  return m_pending;
}

void MutationSchedule::record(AppliedMutation applied) {
  const std::lock_guard lock(m_mutex);
  m_applied.push_back(std::move(applied));
}

std::vector<AppliedMutation> MutationSchedule::applied() const {
  const std::lock_guard lock(m_mutex);
  return m_applied;
}

void MutationSchedule::clear() {
  const std::lock_guard lock(m_mutex);
  m_pending.clear();
  m_applied.clear();
}

AppliedMutation
apply_mutation(StudyStore& store, std::string_view study, const Mutation& mutation) {
  AppliedMutation applied;
  applied.study = std::string(study);
  applied.mutation = mutation;
  // Generated outside the lock, like FakeApi::insert_generated: claiming the sequence first keeps
  // the ids unique.
  if (const std::size_t count = generated_count(mutation); count > 0) {
    GeneratorOptions options = mutation.generator;
    options.count = count;
    applied.added = generate_events(store.claim_generation(study, options));
  }
  store.edit(study, [&](Events& events) {
    const std::size_t size = events.size();
    switch (mutation.kind) {
    case MutationKind::insert: {
      const std::size_t at = std::min(mutation.index, size);
      events.insert(events.begin() + static_cast<std::ptrdiff_t>(at),
                    applied.added.begin(),
                    applied.added.end());
      break;
    }
    case MutationKind::remove: {
      const auto [first, last] = clip(mutation.index, mutation.count, size);
      applied.removed = take(events, first, last);
      break;
    }
    case MutationKind::append:
      events.insert(events.end(), applied.added.begin(), applied.added.end());
      break;
    case MutationKind::remove_and_append: {
      const auto [first, last] = clip(mutation.index, mutation.count, size);
      applied.removed = take(events, first, last);
      // As many appended as removed, so that the total does not move even when clipped.
      applied.added.resize(applied.removed.size());
      events.insert(events.end(), applied.added.begin(), applied.added.end());
      break;
    }
    case MutationKind::reverse: {
      const auto [first, last] = clip(mutation.index, mutation.count, size);
      std::reverse(events.begin() + static_cast<std::ptrdiff_t>(first),
                   events.begin() + static_cast<std::ptrdiff_t>(last));
      break;
    }
    case MutationKind::swap: {
      auto [a_first, a_last] = clip(mutation.index, mutation.count, size);
      auto [b_first, b_last] = clip(mutation.second, mutation.second_count, size);
      if (a_first > b_first) {
        std::swap(a_first, b_first);
        std::swap(a_last, b_last);
      }
      if (a_last > b_first) {
        applied.note = "the ranges to swap overlap: nothing changed";
        break;
      }
      // A M B -> B M A, as StudyStore::swap_ranges does it.
      const auto begin = events.begin();
      const auto a = begin + static_cast<std::ptrdiff_t>(a_first);
      const auto b = begin + static_cast<std::ptrdiff_t>(b_first);
      const auto end = begin + static_cast<std::ptrdiff_t>(b_last);
      std::rotate(a, b, end);
      const auto moved_a = a + static_cast<std::ptrdiff_t>(b_last - b_first);
      std::rotate(moved_a, moved_a + static_cast<std::ptrdiff_t>(a_last - a_first), end);
      break;
    }
    }
    applied.total_after = events.size();
  });
  return applied;
}

MutationTurn::MutationTurn(StudyStore& store, MutationSchedule& schedule, std::string study)
    : m_store(store),
      m_schedule(schedule),
      m_study(std::move(study)) {
  for (auto& due : m_schedule.count_request(m_study)) {
    if (due.mutation.fail_status != 0 && m_fail_status == 0) {
      m_fail_status = due.mutation.fail_status;
    }
    if (due.mutation.before_answer) {
      apply(due);
    } else {
      m_after.push_back(std::move(due));
    }
  }
}

MutationTurn::~MutationTurn() {
  for (const auto& due : m_after) {
    apply(due);
  }
}

void MutationTurn::apply(const ScheduledMutation& due) {
  AppliedMutation applied;
  try {
    applied = apply_mutation(m_store, m_study, due.mutation);
  } catch (const std::exception& e) {
    applied.study = m_study;
    applied.mutation = due.mutation;
    applied.note = e.what();
  }
  applied.after_requests = due.after_requests;
  m_schedule.record(std::move(applied));
}

std::string_view failure_detail(int status) {
  switch (status) {
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "Scheduled failure";
  }
}

void FakeApi::schedule(std::string_view study, std::size_t after_requests, Mutation mutation) {
  if (!m_impl->store.contains(study)) {
    throw std::invalid_argument("fake_api: no study named \"" + std::string(study) + "\"");
  }
  m_impl->mutations.add(std::string(study), after_requests, std::move(mutation));
}

std::vector<ScheduledMutation> FakeApi::scheduled() const {
  return m_impl->mutations.pending();
}

std::vector<AppliedMutation> FakeApi::applied_mutations() const {
  return m_impl->mutations.applied();
}

void FakeApi::clear_schedule() {
  m_impl->mutations.clear();
}

} // namespace bdd::fake_api
