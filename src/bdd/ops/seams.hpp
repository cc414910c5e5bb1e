#pragma once

// Checking the server's list against the stored copy at page seams, and finding where they part.
//
// Every page bdd stores ends at a seam: the id of the event at position `offset - 1` when it was
// read (tracking::Seam). While the server's list only grows at the end, the event at a seam's
// position is still the one recorded there. An insertion, a deletion or a reordering before a
// position moves the events after it, so the seams after that point no longer match while those
// before it still do. Bisection over the recorded seams then finds, in O(log n) requests, the
// last seam that still matches: the list is re-read from there, and de-duplication by id adds
// exactly what is missing.

#include <bdd/core/result.hpp>
#include <bdd/tracking/state.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace bdd::ops {

// The seam with the lowest offset in [from, before), if any (tracking::State::seam_in).
using SeamLookup =
    std::function<Result<std::optional<tracking::Seam>>(std::uint64_t from, std::uint64_t before)>;
// The id of the server's event at `position` now, or nullopt if the list is shorter.
using IdProbe = std::function<Result<std::optional<std::string>>(std::uint64_t position)>;

// The last recorded seam below `before` at which the server still holds the recorded event, on
// the assumption that the list matches up to some point and not after it; the start of the list
// ({0, ""}) if none does. Asks `probe` about O(log n) positions, at most `max_probes`.
Result<tracking::Seam> find_divergence(std::uint64_t before,
                                       const SeamLookup& lookup,
                                       const IdProbe& probe,
                                       int max_probes = 64);

} // namespace bdd::ops
