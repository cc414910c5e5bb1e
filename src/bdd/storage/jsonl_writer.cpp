#include "jsonl_writer.hpp"

#include <bdd/storage/leaf_file_writer.hpp>

namespace bdd::storage {

namespace {

// One `to_normalised_json` object per line, '\n'-terminated, in <leaf>/events.jsonl: appendable
// and readable line by line (pandas read_json(lines=True), R jsonlite::stream_in).
class JsonlWriter final : public LeafFileWriter {
public:
  explicit JsonlWriter(const WriterOptions& options) : LeafFileWriter(options, "jsonl") {}

protected:
  std::string file_head(const model::Event& /*first*/) const override { return {}; }
  std::string_view required_ending() const override { return "\n"; }
  void append_event(std::string& out, const model::Event& event) const override {
    model::append_normalised_json(out, event, options().study_name);
    out += '\n';
  }
};

} // namespace

Result<std::unique_ptr<Writer>> make_jsonl_writer(const WriterOptions& options) {
  return std::unique_ptr<Writer>(std::make_unique<JsonlWriter>(options));
}

} // namespace bdd::storage
