#pragma once

#include <bdd/core/result.hpp>
#include <bdd/model/event.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace bdd::exporting {

// Where `--pseudonymise` reads its secret from when no `--pseudonym-key-file` is given.
inline constexpr std::string_view k_pseudonym_key_variable = "BDD_PSEUDONYM_KEY";

// A pseudonym is "p_" and the first 16 hex digits (64 bits) of HMAC-SHA256(secret, user id).
// 64 bits keep the chance that two of n participants share a pseudonym near n^2 / 2^65: about
// 3e-8 for a million participants. Guessing a participant from a pseudonym needs the secret, not
// more bits: without it, the truncated HMAC tells nothing about the id.
inline constexpr std::size_t k_pseudonym_hex_digits = 16;

// A shorter secret could be guessed by trying keys against a known user id and its pseudonym.
inline constexpr std::size_t k_min_pseudonym_key_bytes = 16;
// The key file is read up to this size; a longer one is refused (not a key).
inline constexpr std::size_t k_max_pseudonym_key_bytes = 4096;

// The secret: the content of `key_file` when given (its trailing CR and LF removed), else the
// value of BDD_PSEUDONYM_KEY in `environment`. Fails with Errc::config when neither is given,
// the file cannot be read or is larger than `k_max_pseudonym_key_bytes`, or the secret is shorter
// than `k_min_pseudonym_key_bytes`. No message contains the secret.
Result<std::string> load_pseudonym_key(const std::optional<std::filesystem::path>& key_file,
                                       const std::map<std::string, std::string>& environment);

// "p_" + the first `k_pseudonym_hex_digits` hex digits of HMAC-SHA256(key, user_id).
std::string pseudonym(std::string_view key, std::string_view user_id);

// `url` without its query string and fragment (from the first '?' or '#').
std::string_view without_url_query(std::string_view url);

struct TransformOptions {
  // Set: replace the participant's id (see `EventTransform`) with its pseudonym under this key.
  std::optional<std::string> pseudonym_key;
  // Record every user id and its pseudonym for `pseudonyms()` (`--pseudonym-map`).
  bool record_pseudonyms = false;
  // Members of `data` to remove, named as their `--flatten` columns ("data.payload.email",
  // see `append_data_path_segment`).
  std::vector<std::string> drop_fields;
  // Remove the query string and fragment of the event's `page_url`.
  bool strip_url_query = false;
};

// The per-event transform of `bdd export --pseudonymise / --drop-field / --strip-url-query`. It
// rewrites the raw event (compact JSON, keys in their order, every other byte kept) and derives
// the normalised fields from it again (`model::normalise_compact`), so that they agree with it:
//   - with a key: every member named "userId" (any depth) whose string or number equals the
//     event's user id, every other string value inside `data` equal to the user id or starting
//     with it followed by '_' ("<userId>_<index>"), and a top-level string "id" starting with it
//     become the pseudonym (+ the rest). The event's `id` is then derived again: a
//     "<userId>_<index>" id becomes "<pseudonym>_<index>", a "sha256:" id the hash of the new
//     content. An empty user id is left alone, and the placeholder "unknown" (no user id in the
//     event) only where it stands as a "userId";
//   - every member named in `drop_fields` is removed (a path does not go into arrays);
//   - with `strip_url_query`, the top-level "page_url" loses its query string and fragment.
// Without a key, the event keeps its `id`.
class EventTransform {
public:
  // Fails with Errc::usage naming a `drop_fields` entry that is not a "data.<path>" name.
  static Result<EventTransform> make(TransformOptions options);

  // Rewrite `event` (a usable event: `raw` is a compact JSON object) in place.
  void apply(model::Event& event);

  // The user ids seen by `apply` and their pseudonyms, by user id (with `record_pseudonyms`).
  const std::map<std::string, std::string>& pseudonyms() const { return m_pseudonyms; }

private:
  explicit EventTransform(TransformOptions options) : m_options(std::move(options)) {}

  struct Context;
  void rewrite(std::string_view value,
               std::string& path,
               bool top,
               bool droppable,
               Context& context,
               std::string& out) const;

  TransformOptions m_options;
  std::unordered_set<std::string> m_drop; // canonical data paths
  std::map<std::string, std::string> m_pseudonyms;
};

// Write `pseudonyms` as `--pseudonym-map` does: CSV (RFC 4180, CRLF) with the header
// "user_id,pseudonym" and one row per participant sorted by user id, atomically. Fails with
// Errc::storage naming the file.
Result<void> write_pseudonym_map(const std::filesystem::path& path,
                                 const std::map<std::string, std::string>& pseudonyms);

} // namespace bdd::exporting
