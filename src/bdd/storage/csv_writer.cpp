#include "csv_writer.hpp"

#include <bdd/storage/leaf_file_writer.hpp>

#include <optional>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace bdd::storage {

namespace {

constexpr std::string_view k_header =
    "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data\r\n";

// 16 bytes at a time where the CPU allows: fields are scanned once per event and `data` (the
// raw event) is most of every row.
#ifdef __SSE2__
// Bit i set if byte i of the 16 at `at` is one of `Bytes`.
template <char... Bytes>
unsigned match_mask(const char* at) {
  const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  __m128i any = _mm_setzero_si128();
  ((any = _mm_or_si128(any, _mm_cmpeq_epi8(chunk, _mm_set1_epi8(Bytes)))), ...);
  return static_cast<unsigned>(_mm_movemask_epi8(any));
}
#endif

// True if `field` holds a comma, quote, CR or LF.
bool needs_quotes(std::string_view field) {
  std::size_t i = 0;
#ifdef __SSE2__
  for (; i + 16 <= field.size(); i += 16) {
    if (match_mask<',', '"', '\r', '\n'>(field.data() + i) != 0) {
      return true;
    }
  }
#endif
  for (; i < field.size(); ++i) {
    const char c = field[i];
    if (c == ',' || c == '"' || c == '\r' || c == '\n') {
      return true;
    }
  }
  return false;
}

// `field` with every quote doubled.
void append_doubling_quotes(std::string& out, std::string_view field) {
  std::size_t copied = 0; // field[0, copied) is in `out`
  std::size_t i = 0;
#ifdef __SSE2__
  for (; i + 16 <= field.size(); i += 16) {
    for (unsigned mask = match_mask<'"'>(field.data() + i); mask != 0; mask &= mask - 1) {
      const std::size_t quote = i + static_cast<std::size_t>(__builtin_ctz(mask));
      out.append(field.data() + copied, quote + 1 - copied);
      out += '"';
      copied = quote + 1;
    }
  }
#endif
  for (; i < field.size(); ++i) {
    if (field[i] == '"') {
      out.append(field.data() + copied, i + 1 - copied);
      out += '"';
      copied = i + 1;
    }
  }
  out.append(field.data() + copied, field.size() - copied);
}

} // namespace

// An empty string is written as "" so that it stays distinct from a missing value (an empty
// field) for readers that look, such as R's read.csv with na.strings = "".
void append_csv_field(std::string& out, std::string_view field) {
  if (!field.empty() && !needs_quotes(field)) {
    out += field;
    return;
  }
  out += '"';
  append_doubling_quotes(out, field);
  out += '"';
}

namespace {

void append_optional(std::string& out, const std::optional<std::string>& field) {
  if (field) {
    append_csv_field(out, *field);
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
    append_csv_row(out, event);
  }
};

} // namespace

std::string_view csv_header() {
  return k_header;
}

void append_csv_row(std::string& out, const model::Event& event) {
  append_csv_field(out, model::display_id(event.id));
  out += ',';
  append_csv_field(out, event.user_id);
  out += ',';
  append_csv_field(out, event.event_type);
  out += ',';
  append_optional(out, event.element_id);
  out += ',';
  append_optional(out, event.timestamp);
  out += ',';
  append_optional(out, event.stored_timestamp);
  out += ',';
  append_optional(out, event.page_url);
  out += ',';
  append_csv_field(out, event.raw);
  out += "\r\n";
}

Result<std::unique_ptr<Writer>> make_csv_writer(const WriterOptions& options) {
  return std::unique_ptr<Writer>(std::make_unique<CsvWriter>(options));
}

} // namespace bdd::storage
