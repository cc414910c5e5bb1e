#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bdd::api {

// `segment` percent-encoded for use as one URL path segment: every byte except the RFC 3986
// unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX (upper-case hex), so '/', '?', '#', '%',
// spaces and non-ASCII bytes cannot change the path.
std::string percent_encode_segment(std::string_view segment);

// `{base_url}/v1/studies/{study}/events?offset=N&limit=M` with `study` percent-encoded and any
// trailing '/' of `base_url` ignored.
std::string events_url(std::string_view base_url,
                       std::string_view study,
                       std::uint64_t offset,
                       std::uint64_t limit);

// `text` with the user information of every URL in it removed ("https://u:p@host/x" becomes
// "https://host/x"), so that a password written into a base URL never reaches a message.
std::string redact_userinfo(std::string_view text);

// `text` with every occurrence of `secret` replaced by "[redacted]" and the token after each
// "Bearer " removed too. Does nothing for an empty `secret` beyond the "Bearer " rule.
std::string redact_secret(std::string_view text, std::string_view secret);

} // namespace bdd::api
