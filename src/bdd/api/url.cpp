#include "url.hpp"

namespace bdd::api {

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
         || c == '.' || c == '_' || c == '~';
}

} // namespace

std::string percent_encode_segment(std::string_view segment) {
  constexpr std::string_view k_hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (const char ch : segment) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4U];
      out += k_hex[c & 0x0FU];
    }
  }
  return out;
}

std::string events_url(std::string_view base_url,
                       std::string_view study,
                       std::uint64_t offset,
                       std::uint64_t limit) {
  while (!base_url.empty() && base_url.back() == '/') {
    base_url.remove_suffix(1);
  }
  std::string url(base_url);
  url += "/v1/studies/";
  url += percent_encode_segment(study);
  url += "/events?offset=";
  url += std::to_string(offset);
  url += "&limit=";
  url += std::to_string(limit);
  return url;
}

} // namespace bdd::api
