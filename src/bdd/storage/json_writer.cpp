#include "json_writer.hpp"

#include <bdd/storage/layout.hpp>
#include <bdd/storage/leaf_file_writer.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <ctime>
#include <fstream>
#include <mutex>
#include <system_error>

namespace bdd::storage {

namespace {

namespace stdfs = std::filesystem;

// A leaf is a JSON array of events, one per line:
//   [
//   {event},
//   {event}
//   ]
//   (an empty line)
// so that every loader reads it as a table with no options (pandas.read_json,
// jsonlite::fromJSON, DuckDB's read_json). Each commit overwrites the tail with its events
// followed by the tail again, so the file is never rewritten and is valid JSON after every
// commit. The empty last line gives the tail the 4 bytes of the original tool's "\n]}\n", which
// the hashing of leaves and `storage::rewritten_tail` count on.
constexpr std::string_view k_array_head = "["; // the first event brings its own "\n"
constexpr std::string_view k_array_tail = "\n]\n\n";

// The original tool's document, which studies downloaded before bdd 0.x wrote and which bdd
// keeps appending to in the same shape (a study never mixes the two):
//   {"metadata":{"study_name":..,"format":"json","folder":{..},"created":..},"events":[
//   {event},
//   {event}
//   ]}
// The metadata never changes after creation (no event count), so appending never rewrites it.
constexpr std::string_view k_document_tail = "\n]}\n";

static_assert(k_array_tail.size() == k_document_tail.size(),
              "both layouts rewrite the same number of bytes at the end of a leaf");

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  std::array<char, 32> buffer{};
  std::strftime(buffer.data(), buffer.size(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer.data();
}

// Whether the study's existing leaves are the original tool's documents: the opening bytes of
// the first events.json found that holds any say it for all of them, since a study never mixes the
// two (a leaf of the other shape would fail the ending check before any append). Folders starting
// with '.' (bdd's own) are skipped. A new study has none and gets arrays.
bool study_uses_documents(const stdfs::path& study_dir) {
  std::error_code ec;
  stdfs::recursive_directory_iterator it(study_dir, ec);
  for (; !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory(ec) && name.starts_with('.')) {
      it.disable_recursion_pending();
      continue;
    }
    if (name != "events.json" || !it->is_regular_file(ec)) {
      continue;
    }
    // The whole opening of a document, not just '{': a half-created leaf of an interrupted
    // run (rolled back later) must not pass for one.
    constexpr std::string_view k_document_start = "{\"metadata\":";
    std::ifstream in(it->path(), std::ios::binary);
    std::array<char, k_document_start.size()> start{};
    if (in.read(start.data(), start.size())) {
      return std::string_view(start.data(), start.size()) == k_document_start;
    }
  }
  return false;
}

class JsonWriter final : public LeafFileWriter {
public:
  explicit JsonWriter(const WriterOptions& options) : LeafFileWriter(options, "json") {}

protected:
  std::string file_head(const model::Event& first) const override {
    if (!documents()) {
      return std::string(k_array_head);
    }
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
  std::string_view file_tail() const override {
    return documents() ? k_document_tail : k_array_tail;
  }
  std::string_view required_ending() const override {
    return documents() ? std::string_view("}\n]}\n") : std::string_view("}\n]\n\n");
  }
  void append_event(std::string& out, const model::Event& event) const override {
    out += ",\n";
    model::append_normalised_json(out, event, options().study_name);
  }
  std::size_t separator_size() const override { return 1; } // the comma, not the newline

private:
  // Decided on first use, not at construction: the writer is made before the rollback of an
  // interrupted run, whose half-created leaves must not decide the shape of the whole study.
  // First use can be on any fetching thread.
  bool documents() const {
    std::call_once(m_documents_decided,
                   [this] { m_documents = study_uses_documents(options().study_dir); });
    return m_documents;
  }

  mutable std::once_flag m_documents_decided;
  mutable bool m_documents = false;
};

} // namespace

Result<std::unique_ptr<Writer>> make_json_writer(const WriterOptions& options) {
  return std::unique_ptr<Writer>(std::make_unique<JsonWriter>(options));
}

} // namespace bdd::storage
