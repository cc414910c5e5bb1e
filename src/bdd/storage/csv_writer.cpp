#include "csv_writer.hpp"

#include <bdd/storage/leaf_file_writer.hpp>

#include <optional>

namespace bdd::storage {

namespace {

constexpr std::string_view k_header =
    "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data\r\n";

// RFC 4180: quote a field that holds a comma, quote, CR or LF, doubling its quotes. An empty
// string is written as "" so that it stays distinct from a missing value (an empty field) for
// readers that look, such as R's read.csv with na.strings = "".
void append_field(std::string& out, std::string_view field) {
  if (!field.empty() && field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (std::size_t start = 0;;) {
    const std::size_t quote = field.find('"', start);
    out += field.substr(start, quote == std::string_view::npos ? quote : quote - start + 1);
    if (quote == std::string_view::npos) {
      break;
    }
    out += '"';
    start = quote + 1;
  }
  out += '"';
}

void append_optional(std::string& out, const std::optional<std::string>& field) {
  if (field) {
    append_field(out, *field);
  }
}

// <leaf>/events.csv with a header row and CRLF line ends, as Excel and RFC 4180 expect. `data`
// is the raw event as compact JSON.
class CsvWriter final : public LeafFileWriter {
public:
  explicit CsvWriter(const WriterOptions& options) : LeafFileWriter(options, "csv") {}

protected:
  std::string file_head(const model::Event& /*first*/) const override {
    return std::string(k_header);
  }
  std::string_view required_ending() const override { return "\r\n"; }
  void append_event(std::string& out, const model::Event& event) const override {
    append_field(out, event.id);
    out += ',';
    append_field(out, event.user_id);
    out += ',';
    append_field(out, event.event_type);
    out += ',';
    append_optional(out, event.element_id);
    out += ',';
    append_optional(out, event.timestamp);
    out += ',';
    append_optional(out, event.stored_timestamp);
    out += ',';
    append_optional(out, event.page_url);
    out += ',';
    append_field(out, event.raw);
    out += "\r\n";
  }
};

} // namespace

Result<std::unique_ptr<Writer>> make_csv_writer(const WriterOptions& options) {
  return std::unique_ptr<Writer>(std::make_unique<CsvWriter>(options));
}

} // namespace bdd::storage
