#include "redact.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace bdd {

namespace {

std::mutex g_secrets_mutex;
std::vector<std::string> g_secrets; // registered secrets; never removed

// Characters that end the authority part of a URL written in free text.
bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == ' ' || c == '"' || c == '\'' || c == '\t'
         || c == '\n' || c == '\r' || c == '<' || c == '>';
}

std::string without_userinfo(std::string_view text) {
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

// Replaces `secret` and every run of its first `k_min_secret_prefix` or more characters.
void redact_secret(std::string& text, std::string_view secret) {
  const std::size_t probe_size = std::min(secret.size(), k_min_secret_prefix);
  const std::string_view probe = secret.substr(0, probe_size);
  for (std::size_t pos = text.find(probe); pos != std::string::npos;
       pos = text.find(probe, pos + k_redacted.size())) {
    std::size_t length = probe_size;
    while (length < secret.size() && pos + length < text.size()
           && text[pos + length] == secret[length]) {
      ++length;
    }
    text.replace(pos, length, k_redacted);
  }
}

void redact_bearer_tokens(std::string& text) {
  // A server may echo the whole header; whatever follows "Bearer " is a credential.
  constexpr std::string_view k_bearer = "Bearer ";
  for (std::size_t pos = text.find(k_bearer); pos != std::string::npos;
       pos = text.find(k_bearer, pos + k_bearer.size() + k_redacted.size())) {
    const std::size_t start = pos + k_bearer.size();
    std::size_t end = start;
    while (end < text.size() && !ends_authority(text[end]) && text[end] != ','
           && text[end] != ';') {
      ++end;
    }
    text.replace(start, end - start, k_redacted);
  }
}

} // namespace

std::string redact(std::string_view text, std::span<const std::string_view> secrets) {
  // Secrets first: a key written into a URL's user information is then gone either way.
  std::string out(text);
  for (const std::string_view secret : secrets) {
    if (!secret.empty()) {
      redact_secret(out, secret);
    }
  }
  out = without_userinfo(out);
  redact_bearer_tokens(out);
  return out;
}

std::string redact(std::string_view text, std::string_view secret) {
  return redact(text, std::span<const std::string_view>(&secret, 1));
}

void register_secret(std::string secret) {
  if (secret.empty()) {
    return;
  }
  const std::lock_guard lock(g_secrets_mutex);
  if (std::find(g_secrets.begin(), g_secrets.end(), secret) == g_secrets.end()) {
    g_secrets.push_back(std::move(secret));
  }
}

std::string redact_known_secrets(std::string_view text) {
  const std::lock_guard lock(g_secrets_mutex);
  const std::vector<std::string_view> secrets(g_secrets.begin(), g_secrets.end());
  return redact(text, secrets);
}

} // namespace bdd
