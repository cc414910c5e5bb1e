#include "retry.hpp"

#include <bdd/core/redact.hpp>
#include <bdd/core/text.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace bdd::api {

namespace {

constexpr std::size_t k_max_detail_bytes = 200;

// Parses a run of decimal digits in full; nullopt if `text` is empty, has another character, or
// overflows `limit`.
std::optional<std::uint64_t> parse_digits(std::string_view text, std::uint64_t limit) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > limit) {
      return std::nullopt;
    }
  }
  return value;
}

// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7), the only date format a
// current server sends.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  static constexpr std::array<std::string_view, 12> k_months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // "Sun, 06 Nov 1994 08:49:37 GMT" is exactly 29 characters.
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' '
      || text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  const auto day = parse_digits(text.substr(5, 2), 31);
  const auto year = parse_digits(text.substr(12, 4), 9999);
  const auto hour = parse_digits(text.substr(17, 2), 23);
  const auto minute = parse_digits(text.substr(20, 2), 59);
  const auto second = parse_digits(text.substr(23, 2), 60);
  const auto month_it = std::find(k_months.begin(), k_months.end(), text.substr(8, 3));
  if (!day || !year || !hour || !minute || !second || month_it == k_months.end()) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{
      std::chrono::year{static_cast<int>(*year)},
      std::chrono::month{static_cast<unsigned>(month_it - k_months.begin() + 1)},
      std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) {
    return std::nullopt;
  }
  return std::chrono::sys_days{date} + std::chrono::hours{*hour} + std::chrono::minutes{*minute}
         + std::chrono::seconds{*second};
}

// The server's explanation in an error body, FastAPI style: {"detail": "..."}.
std::string detail_of(std::string_view body, std::string_view secret) {
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return {};
  }
  const auto it = json.find("detail");
  if (it == json.end() || it->is_null()) {
    return {};
  }
  const std::string text = it->is_string()
                               ? it->get<std::string>()
                               : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return sanitise_server_text(text, secret, k_max_detail_bytes);
}

// A 404 that is about the path, not the study: an empty body, HTML or other text, or the web
// framework's own answer for a route it does not have (FastAPI: {"detail": "Not Found"}). The
// API names the study ("Study not found").
bool is_route_not_found(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return true;
  }
  const auto it = json.find("detail");
  if (it == json.end() || !it->is_string()) {
    return true;
  }
  std::string detail = it->get<std::string>();
  for (char& c : detail) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return trim(detail) == "not found";
}

} // namespace

Error to_error(const Failure& failure,
               std::string_view shown_url,
               int attempts,
               std::string_view secret) {
  std::string message = "GET ";
  message += shown_url;
  message += ": ";
  message += failure.what;
  if (!failure.detail.empty()) {
    message += ": \"";
    message += failure.detail;
    message += '"';
  }
  if (failure.retryable || attempts > 1) {
    message += " after " + std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
  }
  if (!failure.hint.empty()) {
    message += " (";
    message += failure.hint;
    message += ')';
  }
  Error error(failure.code, redact(message, secret));
  error.retryable = failure.retryable;
  error.retry_after = failure.retry_after;
  return error;
}

std::chrono::milliseconds
backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937_64& rng) {
  using std::chrono::milliseconds;
  if (policy.first_delay <= milliseconds::zero()) {
    return milliseconds::zero();
  }
  milliseconds delay = policy.first_delay;
  for (int i = 1; i < attempt && delay < policy.max_delay; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, policy.max_delay);
  const auto half = delay.count() / 2;
  std::uniform_int_distribution<milliseconds::rep> jitter(0, delay.count() - half);
  return milliseconds{half + jitter(rng)};
}

std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now,
                  std::chrono::milliseconds cap) {
  using std::chrono::milliseconds;
  value = trim(value);
  const auto cap_seconds = static_cast<std::uint64_t>(cap.count() / 1000);
  if (!value.empty()
      && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const auto seconds = parse_digits(value, cap_seconds + 1);
    if (!seconds) {
      return cap; // more than the cap, however many digits
    }
    return std::min(cap, milliseconds{static_cast<milliseconds::rep>(*seconds) * 1000});
  }
  if (const auto date = parse_http_date(value)) {
    if (*date <= now) {
      return milliseconds::zero();
    }
    return std::min(cap, std::chrono::ceil<milliseconds>(*date - now));
  }
  return std::nullopt;
}

std::string delay_text(std::chrono::milliseconds delay) {
  const auto ms = std::max<std::chrono::milliseconds::rep>(0, delay.count());
  if (ms < 1'000) {
    return std::to_string(ms) + " ms";
  }
  if (ms < 10'000) {
    const auto tenths = (ms + 50) / 100;
    return std::to_string(tenths / 10) + (tenths % 10 != 0 ? "." + std::to_string(tenths % 10) : "")
           + " s";
  }
  return std::to_string((ms + 500) / 1000) + " s";
}

std::string_view reason_phrase(long status) {
  switch (status) {
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 203:
    return "Non-Authoritative Information";
  case 204:
    return "No Content";
  case 205:
    return "Reset Content";
  case 206:
    return "Partial Content";
  case 300:
    return "Multiple Choices";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 422:
    return "Unprocessable Entity";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "";
  }
}

Failure classify_status(long status,
                        std::string_view body,
                        const std::optional<std::string>& retry_after_header,
                        const std::optional<std::string>& location_header,
                        std::string_view secret,
                        const RetryPolicy& policy) {
  Failure failure;
  failure.what = "HTTP " + std::to_string(status);
  if (const auto reason = reason_phrase(status); !reason.empty()) {
    failure.what += ' ';
    failure.what += reason;
  }
  failure.detail = detail_of(body, secret);
  if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
    failure.code = Errc::network;
    failure.retryable = true;
    if (retry_after_header) {
      failure.retry_after = parse_retry_after(
          *retry_after_header, std::chrono::system_clock::now(), policy.max_retry_after);
    }
  } else if (status == 401) {
    failure.code = Errc::auth;
    failure.hint = "the API key was rejected";
  } else if (status == 403) {
    failure.code = Errc::auth;
    failure.hint = "the API key was refused access to this study";
  } else if (status == 404) {
    failure.code = Errc::not_found;
    failure.hint = is_route_not_found(body)
                       ? "the server has no such URL, so api.base_url may be wrong: it should be "
                         "the API's address with no path, e.g. https://api.behaverse.org"
                       : "no such study, or the API key has no access to it";
  } else if (status >= 300 && status <= 399) {
    failure.code = Errc::config;
    failure.hint =
        "bdd follows no redirects, so that the API key stays on this host; check base_url";
    if (location_header && !location_header->empty()) {
      failure.hint += "; the server points to "
                      + sanitise_server_text(*location_header, secret, k_max_detail_bytes);
    }
  } else {
    failure.code = Errc::bad_request;
    failure.hint = "the server rejected the request";
  }
  return failure;
}

std::string
sanitise_server_text(std::string_view text, std::string_view secret, std::size_t max_bytes) {
  std::string clean;
  clean.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    clean += (u < 0x20 || u == 0x7F) ? ' ' : c;
  }
  clean = redact(clean, secret);
  if (clean.size() > max_bytes) {
    std::size_t cut = max_bytes;
    // Back up to the start of a UTF-8 sequence so that no character is split.
    while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0U) == 0x80U) {
      --cut;
    }
    clean.resize(cut);
    clean += "...";
  }
  return clean;
}

} // namespace bdd::api
