#pragma once

// Scheduled mutations of a study's event list: the fake server changes its list while a client
// pages through it, at a request the test chooses, so that drift during a run is reproducible
// (FakeApi::schedule). Applied under the study store's exclusive lock, so every page is still a
// consistent snapshot, either before or after a mutation.

#include <fake_api/event_generator.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::fake_api {

enum class MutationKind {
  insert,            // `count` generated events before position `index`
  remove,            // up to `count` events from position `index`; the total shrinks
  append,            // `count` generated events at the end
  remove_and_append, // remove `count` at `index`, append as many generated: the total is unchanged
  reverse,           // reverse [index, index + count); `count` npos (the default) reaches the end
  swap, // swap [index, index + count) and [second, second + second_count), as FakeApi::swap_ranges
};

// The snake_case name used by the control API ("insert", "remove_and_append", ...).
std::string_view mutation_kind_name(MutationKind kind);
// The kind of that name, or nullopt.
std::optional<MutationKind> mutation_kind_from_name(std::string_view name);

// One change of a study's list, and when in the request it is made.
//
// Positions are taken on the list as it is when the mutation is applied; an `index` or a range
// past the end is clipped to the end rather than failing (a handler must not throw). A `swap`
// whose clipped ranges overlap changes nothing and says so in `AppliedMutation::note`.
struct Mutation {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  MutationKind kind = MutationKind::append;
  std::size_t index = 0;
  std::size_t count = 1;
  std::size_t second = 0; // swap only
  std::size_t second_count = 0;
  // false: the request it is scheduled at is answered from the list as it was, and the mutation
  // is applied right after that answer was rendered, so the next request sees it. true: applied
  // before the answer, which already shows it.
  bool before_answer = false;
  // Nonzero: the request is answered with this HTTP status and a {"detail"} body instead of a
  // page (e.g. 500), so that the client retries that page, and the retry sees the changed list.
  int fail_status = 0;
  // How inserted and appended events are generated; `count`, `start_index` and `start_time_ms`
  // are replaced (the events continue the study's generated sequence, so their ids are new).
  GeneratorOptions generator = {};

  static Mutation insert(std::size_t index, std::size_t count = 1);
  static Mutation remove(std::size_t index, std::size_t count = 1);
  static Mutation append(std::size_t count = 1);
  static Mutation remove_and_append(std::size_t index, std::size_t count = 1);
  static Mutation reverse(std::size_t index = 0, std::size_t count = npos);
  static Mutation
  swap(std::size_t first, std::size_t first_count, std::size_t second, std::size_t second_count);

  // Builders for the timing fields, e.g. Mutation::insert(100).answered_with(500).
  Mutation& answered_with(int status);
  Mutation& applied_before_answer();
};

// A mutation waiting for its request.
struct ScheduledMutation {
  std::string study;
  std::uint64_t after_requests = 0; // as scheduled
  std::uint64_t requests_left = 0;  // counted requests of `study` until it applies (1: the next)
  Mutation mutation;
};

// A mutation the server has applied, with what it changed.
struct AppliedMutation {
  std::string study;
  std::uint64_t after_requests = 0; // the counted request it applied at, as scheduled
  Mutation mutation;
  std::vector<std::string> added;   // inserted or appended events, as served
  std::vector<std::string> removed; // removed events, as they were served
  std::size_t total_after = 0;      // the study's total once applied
  std::string note;                 // why nothing changed, when nothing did
};

} // namespace bdd::fake_api
