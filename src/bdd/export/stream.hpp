#pragma once

// The events of an export in export order, with flat memory.

#include <bdd/core/result.hpp>
#include <bdd/export/filter.hpp>
#include <bdd/export/inputs.hpp>
#include <bdd/model/event.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bdd::exporting {

// Export order: stored_timestamp ascending as an instant (`parse_instant`: the same instant
// written two ways is one), then the display id's bytes (model::display_id), then the identity
// key's; after every event with such a time, those whose stored_timestamp is present but no time
// (by its text, then id), then those without one (by id). A total order on a study's events,
// so that every format and folder structure gives the same sequence.
struct SortKey {
  enum Group : std::uint8_t { timed = 0, untimed = 1, missing = 2 };
  Group group = missing;
  Instant instant = 0;
};
SortKey sort_key(const model::Event& event);
bool export_before(const SortKey& a,
                   const model::Event& ea,
                   const SortKey& b,
                   const model::Event& eb);

// Reports events read so far and the inputs finished out of all, every few thousand events.
using StreamProgress = std::function<void(
    std::uint64_t events_read, std::uint64_t inputs_done, std::uint64_t inputs_total)>;

struct StreamOptions {
  std::filesystem::path study_dir;
  std::string study_name; // for messages
  std::string format;     // the stored format
  std::vector<Input> inputs;
  Filter filter;
  // Where the temporary folder of sorted runs is made (beside the output, or $TMPDIR).
  std::filesystem::path temp_parent;
  // Bytes of events held in memory before a sorted run is written (about; 24 MiB).
  std::size_t run_bytes = std::size_t{24} << 20;
  // The most inputs or runs open at once in a merge.
  std::size_t max_open = 128;
  const std::atomic<bool>* stop = nullptr; // set by SIGINT/SIGTERM
  StreamProgress progress;                 // may be empty
  // When set (`--partition-by`), the events are ordered by this key of theirs first, then in
  // export order: a partition's events come together, each partition in export order.
  std::function<std::string(const model::Event&)> partition;
};

struct StreamStats {
  std::uint64_t files = 0;       // distinct data files read
  std::uint64_t events_read = 0; // before the filter, in the first pass
  std::uint64_t events = 0;      // after it: what a pass yields
  std::uint64_t runs = 0;        // sorted runs written to temporary files (0: merged directly)
};

// Every event the filter keeps, each once, in export order. Inputs are usually in order already
// (a leaf file holds its events in server order, which is stored-time order): then they are
// merged directly, at most `max_open` open at once, and a merge finds out as it goes whether
// they were (the sequence it yields must ascend). Otherwise, or with more inputs than
// `max_open`, runs are written to a private temporary folder (groups of inputs merged, or read
// and sorted in memory `run_bytes` at a time when a group is out of order) and merged with at
// most `max_open` open, in as many rounds as needed. The folder is removed when the stream is
// destroyed, on every path.
class EventStream {
public:
  using Visitor = std::function<Result<void>(const model::Event&)>;
  // Undoes what a visitor did so far, so that a pass can start again.
  using Rewind = std::function<Result<void>()>;

  explicit EventStream(StreamOptions options);
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // One pass: `visit` for every event in export order. Passes can be repeated and yield the same
  // events in the same order (the second replays the runs or merges the inputs again). With
  // `rewind`, a first pass that finds its inputs out of order calls it and starts over from
  // sorted runs; without (standard output cannot be taken back), a first pass first checks the
  // order without visiting anything. A damaged data file fails with Errc::storage naming it;
  // the stop flag with Errc::interrupted; what `visit` returns stops the pass.
  Result<void> for_each(const Visitor& visit, const Rewind& rewind = {});

  const StreamStats& stats() const { return m_stats; }

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  StreamStats m_stats;
};

} // namespace bdd::exporting
