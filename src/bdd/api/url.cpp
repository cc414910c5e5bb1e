#include "url.hpp"

namespace bdd::api {

namespace {

constexpr std::string_view k_redacted = "[redacted]";

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
         || c == '.' || c == '_' || c == '~';
}

// Characters that end the authority part of a URL written in free text.
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == ' ' || c == '"' || c == '\'' || c == '\t'
         || c == '\n' || c == '\r' || c == '<' || c == '>';
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
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

std::string redact_userinfo(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t scheme_end = text.find("://", pos);
    if (scheme_end == std::string_view::npos) {
      break;
    }
    const std::size_t authority = scheme_end + 3;
    out.append(text.substr(pos, authority - pos));
    std::size_t end = authority;
    while (end < text.size() && !ends_authority(text[end])) {
      ++end;
    }
    const std::string_view host_part = text.substr(authority, end - authority);
    const std::size_t at = host_part.rfind('@');
    out.append(at == std::string_view::npos ? host_part : host_part.substr(at + 1));
    pos = end;
  }
  if (pos < text.size()) {
    out.append(text.substr(pos));
  }
  return out;
}

std::string redact_secret(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (!secret.empty()) {
    replace_all(out, secret, k_redacted);
  }
  // A server may echo the whole header; whatever follows "Bearer " is a credential.
  constexpr std::string_view k_bearer = "Bearer ";
  for (std::size_t pos = out.find(k_bearer); pos != std::string::npos;
       pos = out.find(k_bearer, pos + k_bearer.size() + k_redacted.size())) {
    const std::size_t start = pos + k_bearer.size();
    std::size_t end = start;
    while (end < out.size() && !ends_authority(out[end]) && out[end] != ',' && out[end] != ';') {
      ++end;
    }
    out.replace(start, end - start, k_redacted);
  }
  return out;
}

} // namespace bdd::api
