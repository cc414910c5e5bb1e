#include "json_writer.hpp"

#include <bdd/storage/layout.hpp>
#include <bdd/storage/leaf_file_writer.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <ctime>

namespace bdd::storage {

namespace {

// The document closes after the last event. Each commit overwrites these bytes with its events
// followed by them again, so the file is never rewritten and is valid JSON after every commit.
constexpr std::string_view k_tail = "\n]}\n";

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  std::array<char, 32> buffer{};
  std::strftime(buffer.data(), buffer.size(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer.data();
}

// <leaf>/events.json, the original tool's document, one event per line:
//   {"metadata":{"study_name":..,"format":"json","folder":{..},"created":..},"events":[
//   {event},
//   {event}
//   ]}
// The metadata never changes after creation (no event count), so appending never rewrites it.
class JsonWriter final : public LeafFileWriter {
public:
  explicit JsonWriter(const WriterOptions& options) : LeafFileWriter(options, "json") {}

protected:
  std::string file_head(const model::Event& first) const override {
    nlohmann::ordered_json folder = nlohmann::ordered_json::object();
    for (Level level : options().folder_structure) {
      folder[std::string(level_name(level))] = level_value(first, level);
    }
    nlohmann::ordered_json metadata = {
        {"study_name", options().study_name},
        {"format", "json"},
        {"folder", std::move(folder)},
        {"created", utc_now()},
    };
    return "{\"metadata\":"
           + metadata.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
           + ",\"events\":[";
  }
  std::string_view file_tail() const override { return k_tail; }
  std::string_view required_ending() const override { return "}\n]}\n"; }
  void append_event(std::string& out, const model::Event& event) const override {
    out += ",\n";
    model::append_normalised_json(out, event, options().study_name);
  }
  std::size_t separator_size() const override { return 1; } // the comma, not the newline
};

} // namespace

Result<std::unique_ptr<Writer>> make_json_writer(const WriterOptions& options) {
  return std::unique_ptr<Writer>(std::make_unique<JsonWriter>(options));
}

} // namespace bdd::storage
