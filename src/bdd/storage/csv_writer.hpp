#pragma once

#include <bdd/core/result.hpp>
#include <bdd/model/event.hpp>
#include <bdd/storage/writer.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace bdd::storage {

// The "csv" format: `<study_dir>/<leaf_directory>/events.csv`, RFC 4180 with CRLF line ends and
// the header `id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data` (`data`
// is the raw event as compact JSON). Fields holding ',', '"', CR or LF are quoted with quotes
// doubled; null is an empty field and "" a quoted empty field. Use through `make_writer`.
Result<std::unique_ptr<Writer>> make_csv_writer(const WriterOptions& options);

// `field` as one RFC 4180 field appended to `out`: quoted when it holds a comma, quote, CR or LF
// (its quotes doubled), and "" when it is empty.
void append_csv_field(std::string& out, std::string_view field);

// The header row of the "csv" format, CRLF included.
std::string_view csv_header();

// `event` as one row of the "csv" format, CRLF included, appended to `out`: the one way bdd
// writes its CSV (the storage writer and `bdd export`).
void append_csv_row(std::string& out, const model::Event& event);

} // namespace bdd::storage
