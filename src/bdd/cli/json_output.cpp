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
