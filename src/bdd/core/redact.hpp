#pragma once

#include <span>
#include <string>
#include <string_view>

namespace bdd {

// What a secret is replaced with wherever bdd shows text.
inline constexpr std::string_view k_redacted = "[redacted]";

// A run of at least this many leading characters of a secret is redacted wherever it appears:
// a server that echoes the first 8 characters of a key has given away that much of it.
inline constexpr std::size_t k_min_secret_prefix = 6;

// The one redaction of bdd: `text` made fit for any output (stdout, stderr, logs, history,
// `--json`). It removes the user information of every URL in it ("https://u:p@host/x" becomes
// "https://host/x"), replaces the token after every "Bearer " with "[redacted]", and for each
// non-empty secret of `secrets` replaces the whole secret and every occurrence of its first
// `k_min_secret_prefix` or more characters (the longest at each place) with "[redacted]"; a secret
// shorter than that is matched whole only.
std::string redact(std::string_view text, std::span<const std::string_view> secrets);
// `redact` with one secret (may be empty: then only URLs and "Bearer " tokens are cleaned).
std::string redact(std::string_view text, std::string_view secret);

// Remembers `secret` (an API key) for `redact_known_secrets`, for the rest of the process. Empty
// secrets are ignored. Thread-safe.
void register_secret(std::string secret);
// `redact(text, every secret registered so far)`. Thread-safe.
std::string redact_known_secrets(std::string_view text);

} // namespace bdd
