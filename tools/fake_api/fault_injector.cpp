#include "fault_injector.hpp"

#include <array>

namespace bdd::fake_api {

void FaultInjector::configure(const Faults& faults) {
  const std::lock_guard lock(m_mutex);
  m_faults = faults;
  m_rng.seed(faults.seed);
}

Faults FaultInjector::current() const {
  const std::lock_guard lock(m_mutex);
  return m_faults;
}

std::optional<FaultKind> FaultInjector::draw() {
  const std::lock_guard lock(m_mutex);
  // Both tables follow FaultKind order.
  const std::array<int*, k_fault_kind_count> counters = {&m_faults.next_500,
                                                         &m_faults.next_502,
                                                         &m_faults.next_503,
                                                         &m_faults.next_429,
                                                         &m_faults.next_reset,
                                                         &m_faults.next_truncate,
                                                         &m_faults.next_invalid_json,
                                                         &m_faults.next_slow,
                                                         &m_faults.next_gzip_bomb,
                                                         &m_faults.next_endless_body,
                                                         &m_faults.next_malformed_status,
                                                         &m_faults.next_no_content,
                                                         &m_faults.next_echo_key};
  for (std::size_t kind = 0; kind < counters.size(); ++kind) {
    if (*counters[kind] > 0) {
      --*counters[kind];
      return static_cast<FaultKind>(kind);
    }
  }
  const std::array<double, k_fault_kind_count> probabilities = {m_faults.p_500,
                                                                m_faults.p_502,
                                                                m_faults.p_503,
                                                                m_faults.p_429,
                                                                m_faults.p_reset,
                                                                m_faults.p_truncate,
                                                                m_faults.p_invalid_json,
                                                                m_faults.p_slow,
                                                                // hostile kinds: counters only
                                                                0,
                                                                0,
                                                                0,
                                                                0,
                                                                0};
  bool any = false;
  for (const double p : probabilities) {
    any = any || p > 0;
  }
  if (!any) {
    return std::nullopt;
  }
  // A fixed number of RNG steps per request keeps runs reproducible from the seed.
  const double roll = std::uniform_real_distribution<double>(0.0, 1.0)(m_rng);
  double threshold = 0;
  for (std::size_t kind = 0; kind < probabilities.size(); ++kind) {
    threshold += probabilities[kind] > 0 ? probabilities[kind] : 0;
    if (roll < threshold) {
      return static_cast<FaultKind>(kind);
    }
  }
  return std::nullopt;
}

} // namespace bdd::fake_api
