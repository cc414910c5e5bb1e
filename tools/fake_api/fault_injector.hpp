#pragma once

// Decides, request by request, which fault (if any) the events endpoint injects.

#include <fake_api/fake_api.hpp>

#include <mutex>
#include <optional>
#include <random>

namespace bdd::fake_api {

class FaultInjector {
public:
  // Replaces the configuration and reseeds the RNG with `faults.seed`.
  void configure(const Faults& faults);
  // The configuration, with `next_*` counters as consumed so far.
  Faults current() const;
  // Picks the fault for one request as `Faults` describes: a `next_*` counter first, else one RNG
  // draw against the `p_*` probabilities. Returns nullopt for "answer normally". Thread-safe.
  std::optional<FaultKind> draw();

private:
  mutable std::mutex m_mutex;
  Faults m_faults;
  std::mt19937_64 m_rng{1};
};

} // namespace bdd::fake_api
