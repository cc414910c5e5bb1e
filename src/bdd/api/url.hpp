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

} // namespace bdd::api
