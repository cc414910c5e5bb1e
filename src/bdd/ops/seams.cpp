#include "seams.hpp"

namespace bdd::ops {

Result<tracking::Seam> find_divergence(std::uint64_t before,
                                       const SeamLookup& lookup,
                                       const IdProbe& probe,
                                       int max_probes) {
  // `good` matches (the start of the list always does); no seam at or after `bad` is trusted.
  tracking::Seam good;
  std::uint64_t bad = before;
  for (int probes = 0; probes < max_probes && good.offset + 1 < bad; ++probes) {
    // A seam near the middle of (good, bad): the first in the upper half, else the first at all.
    const std::uint64_t middle = good.offset + (bad - good.offset) / 2;
    BDD_TRY_ASSIGN(auto candidate, lookup(std::max(middle, good.offset + 1), bad));
    if (!candidate) {
      BDD_TRY_ASSIGN(candidate, lookup(good.offset + 1, bad));
    }
    if (!candidate) {
      break; // no seam left between them
    }
    BDD_TRY_ASSIGN(auto found, probe(candidate->offset - 1));
    if (found && *found == candidate->id) {
      good = std::move(*candidate);
    } else {
      bad = candidate->offset;
    }
  }
  return good;
}

} // namespace bdd::ops
