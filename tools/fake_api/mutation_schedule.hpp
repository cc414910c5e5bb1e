#pragma once

// The schedule behind FakeApi::schedule: mutations waiting for the Nth request of their study,
// the log of those applied, and how one request takes its turn. Not part of the public interface.

#include "study_store.hpp"

#include <fake_api/mutation.hpp>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::fake_api {

class MutationSchedule {
public:
  // Throws std::invalid_argument if `after_requests` is 0.
  void add(std::string study, std::uint64_t after_requests, Mutation mutation);
  // Counts one request of `study` and returns the mutations due at it, in scheduling order,
  // removed from the schedule. Cheap when nothing is scheduled.
  std::vector<ScheduledMutation> count_request(std::string_view study);
  std::vector<ScheduledMutation> pending() const;
  void record(AppliedMutation applied);
  std::vector<AppliedMutation> applied() const;
  void clear();

private:
  mutable std::mutex m_mutex;
  std::vector<ScheduledMutation> m_pending; // in scheduling order
  std::vector<AppliedMutation> m_applied;   // oldest first
};

// Applies `mutation` to `study`'s list in one exclusive section of `store`, generating the events
// it adds first. Positions are clipped to the list (see Mutation). Throws std::invalid_argument
// only for an unknown study.
AppliedMutation apply_mutation(StudyStore& store, std::string_view study, const Mutation& mutation);

// One events request's turn in the schedule, for the events handler: constructed once the request
// passed auth and parameter checks, it counts the request, applies the mutations due before the
// answer at once, and the others when it is destroyed, that is once the handler has rendered its
// answer. Never throws from the destructor: a failure is kept in the applied log's `note`.
class MutationTurn {
public:
  MutationTurn(StudyStore& store, MutationSchedule& schedule, std::string study);
  ~MutationTurn();
  MutationTurn(const MutationTurn&) = delete;
  MutationTurn& operator=(const MutationTurn&) = delete;

  // Nonzero when a due mutation asks for this request to be answered with that status instead.
  int fail_status() const { return m_fail_status; }

private:
  void apply(const ScheduledMutation& due);

  StudyStore& m_store;
  MutationSchedule& m_schedule;
  std::string m_study;
  std::vector<ScheduledMutation> m_after; // due, applied once the answer is rendered
  int m_fail_status = 0;
};

// The reason phrase sent in {"detail"} for a scheduled failure status.
std::string_view failure_detail(int status);

} // namespace bdd::fake_api
