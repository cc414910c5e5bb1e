#include "json_output.hpp"

#include "logging.hpp"

#include <iostream>

namespace bdd::cli {

using json = nlohmann::ordered_json;

json or_null(const std::optional<std::uint64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

json or_null(const std::string& value) {
  return value.empty() ? json(nullptr) : json(value);
}

json run_json(const tracking::RunRecord& run) {
  return json{
      {"run_id", run.run_id},
      {"started_at", run.started_at},
      {"ended_at", or_null(run.ended_at)},
      {"type", run.type},
      {"status", run.status},
      {"events_received", run.events_received},
      {"events_added", run.events_added},
      {"duplicates_skipped", run.duplicates_skipped},
      {"pages", run.pages},
      {"bytes", run.bytes},
      {"start_offset", run.start_offset},
      {"remote_total", or_null(run.remote_total)},
      {"error", or_null(run.error)},
      {"bdd_version", run.bdd_version},
      {"warnings", run.warnings},
      {"retries", run.retries},
      {"retry_wait_seconds", run.retry_wait_seconds},
      {"deleted_on_server", run.deleted_on_server},
      {"unusable_events", run.unusable_events},
      {"changed_on_server", run.changed_on_server},
  };
}

std::string absolute_path(const std::filesystem::path& path) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  return (ec ? path : absolute).lexically_normal().string();
}

void print_json(const json& value) {
  std::cout << value.dump(-1, ' ', false, json::error_handler_t::replace) << '\n' << std::flush;
}

Result<int> with_json_error(bool json_output, Result<int> result) {
  if (json_output && !result) {
    print_json(json{{"error",
                     {{"kind", errc_name(result.error().code)},
                      {"message", Logging::redact(result.error().message)}}}});
  }
  return result;
}

} // namespace bdd::cli
