#include "html_json.hpp"

#include "html_text.hpp"

#include <bdd/core/text.hpp>

#include <cmath>

namespace bdd::report {

const Json* member(const Json& value, std::string_view key) {
  if (!value.is_object()) {
    return nullptr;
  }
  const auto found = value.find(key);
  return found == value.end() ? nullptr : &*found;
}

const Json& elements(const Json* value) {
  static const Json k_empty = Json::array();
  return value != nullptr && value->is_array() ? *value : k_empty;
}

std::optional<std::string_view> text_of(const Json* value) {
  if (value == nullptr || !value->is_string()) {
    return std::nullopt;
  }
  return std::string_view(value->get_ref<const std::string&>());
}

std::optional<std::uint64_t> count_of(const Json* value) {
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_number_unsigned()) {
    return value->get<std::uint64_t>();
  }
  if (value->is_number_integer()) {
    const auto signed_value = value->get<std::int64_t>();
    return signed_value >= 0 ? std::optional<std::uint64_t>(signed_value) : std::nullopt;
  }
  if (value->is_number_float()) {
    const auto number = value->get<double>();
    if (std::isfinite(number) && number >= 0 && number < 9007199254740992.0
        && std::floor(number) == number) {
      return static_cast<std::uint64_t>(number);
    }
  }
  return std::nullopt;
}

std::optional<double> number_of(const Json* value) {
  if (value == nullptr || !value->is_number()) {
    return std::nullopt;
  }
  const auto number = value->get<double>();
  return std::isfinite(number) ? std::optional<double>(number) : std::nullopt;
}

std::string html_text(const Json* value, std::size_t max_code_points) {
  if (value == nullptr || value->is_null()) {
    return std::string(k_absent);
  }
  const auto text = text_of(value);
  return text ? escape_html(*text, max_code_points) : std::string(k_wrong_type);
}

std::string html_count(const Json* value) {
  if (value == nullptr || value->is_null()) {
    return std::string(k_absent);
  }
  const auto count = count_of(value);
  return count ? group_digits(*count) : std::string(k_wrong_type);
}

} // namespace bdd::report
