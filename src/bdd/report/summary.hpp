#pragma once

// The report as text for a terminal: the overview, the event types, the first participants and
// the findings, each table cut with a note saying where the rest is.

#include <bdd/report/accumulator.hpp>
#include <bdd/report/document.hpp>

#include <cstddef>
#include <string>

namespace bdd::report {

// Rows shown per table, and findings shown.
inline constexpr std::size_t k_summary_rows = 10;
inline constexpr std::size_t k_summary_findings = 20;

// The summary of `report`; `tables_written` says whether the full tables were written (to
// name them in the notes of cut tables) or not (then the notes point at --output).
std::string summary(const Report& report, const Header& header, bool tables_written);

} // namespace bdd::report
