#include "pseudonymise.hpp"

#include <bdd/core/fs.hpp>
#include <bdd/core/sha256.hpp>
#include <bdd/export/flatten.hpp>
#include <bdd/model/json_text.hpp>
#include <bdd/storage/csv_writer.hpp>

#include <fstream>
#include <utility>

namespace bdd::exporting {

namespace {

constexpr std::string_view k_key_hint =
    "make one with `openssl rand -hex 32 > pseudonym.key` and keep it private";

Result<std::string> read_key_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(Errc::config, "cannot read the pseudonym key file \"" + path.string() + "\"");
  }
  std::string key(k_max_pseudonym_key_bytes + 1, '\0');
  in.read(key.data(), static_cast<std::streamsize>(key.size()));
  if (in.bad()) {
    return Error(Errc::config, "cannot read the pseudonym key file \"" + path.string() + "\"");
  }
  key.resize(static_cast<std::size_t>(in.gcount()));
  if (key.size() > k_max_pseudonym_key_bytes) {
    return Error(Errc::config,
                 "the pseudonym key file \"" + path.string() + "\" is larger than "
                     + std::to_string(k_max_pseudonym_key_bytes)
                     + " bytes: it should hold only the secret");
  }
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) {
    key.pop_back();
  }
  return key;
}

// True if `text` is `user` followed by `rest_must_start` (or by nothing); `rest` gets the rest.
bool split_user(std::string_view text,
                std::string_view user,
                bool any_rest,
                std::string_view& rest) {
  if (!text.starts_with(user)) {
    return false;
  }
  rest = text.substr(user.size());
  return rest.empty() || any_rest || rest[0] == '_';
}

} // namespace

Result<std::string> load_pseudonym_key(const std::optional<std::filesystem::path>& key_file,
                                       const std::map<std::string, std::string>& environment) {
  std::string key;
  std::string source;
  if (key_file) {
    BDD_TRY_ASSIGN(key, read_key_file(*key_file));
    source = "the pseudonym key file \"" + key_file->string() + "\"";
  } else if (const auto found = environment.find(std::string(k_pseudonym_key_variable));
             found != environment.end()) {
    key = found->second;
    source = std::string(k_pseudonym_key_variable);
  } else {
    return Error(Errc::config,
                 "--pseudonymise needs a secret: give --pseudonym-key-file PATH or "
                 "set "
                     + std::string(k_pseudonym_key_variable) + " (" + std::string(k_key_hint)
                     + ")");
  }
  if (key.size() < k_min_pseudonym_key_bytes) {
    return Error(Errc::config,
                 "the secret in " + source + " is shorter than "
                     + std::to_string(k_min_pseudonym_key_bytes)
                     + " bytes: " + std::string(k_key_hint));
  }
  return key;
}

std::string pseudonym(std::string_view key, std::string_view user_id) {
  return "p_" + hmac_sha256_hex(key, user_id).substr(0, k_pseudonym_hex_digits);
}

std::string_view without_url_query(std::string_view url) {
  return url.substr(0, url.find_first_of("?#"));
}

Result<EventTransform> EventTransform::make(TransformOptions options) {
  EventTransform transform(std::move(options));
  for (const std::string& name : transform.m_options.drop_fields) {
    const auto keys = parse_data_path(name);
    if (!keys) {
      return Error(Errc::usage,
                   "--drop-field \"" + name
                       + "\" is not a member of data: name it as its --flatten "
                         "column, e.g. data.base.userAgent");
    }
    std::string path = "data";
    for (const std::string& key : *keys) {
      path += '.';
      append_data_path_segment(path, key);
    }
    transform.m_drop.insert(std::move(path));
  }
  return transform;
}

struct EventTransform::Context {
  std::string_view user;        // the user id to hide; empty: none
  bool anywhere = false;        // also in strings not under "userId"
  std::string_view replacement; // its pseudonym
  std::string decoded;          // scratch
};

// Appends `value` (a compact object or array) rewritten to `out`. `path` is its column name, and
// `droppable` whether members under it can be dropped (not inside an array).
void EventTransform::rewrite(std::string_view value,
                             std::string& path,
                             bool top,
                             bool droppable,
                             Context& context,
                             std::string& out) const {
  const bool object = value[0] == '{';
  out += value[0];
  model::CompactReader reader(value);
  std::string_view key;
  std::string_view member;
  bool first = true;
  while (reader.next(key, member)) {
    const std::size_t restore = path.size();
    if (object) {
      context.decoded.clear();
      model::append_decoded_string(key, context.decoded);
      path += '.';
      append_data_path_segment(path, context.decoded);
      if (droppable && m_drop.contains(path)) {
        path.resize(restore);
        continue;
      }
    }
    out += first ? "" : ",";
    first = false;
    if (object) {
      out += key;
      out += ':';
    }
    const bool user_member = object && model::string_equals(key, "userId");
    const bool id_member = top && object && model::string_equals(key, "id");
    const bool url_member =
        top && object && m_options.strip_url_query && model::string_equals(key, "page_url");
    if (member[0] == '{' || member[0] == '[') {
      // An array is one column: drops do not reach inside it.
      rewrite(member, path, false, droppable && member[0] == '{', context, out);
    } else if (member[0] == '"' && (!context.user.empty() || url_member)) {
      context.decoded.clear();
      model::append_decoded_string(member, context.decoded);
      std::string_view text = context.decoded;
      std::string_view rest;
      if (url_member) {
        text = without_url_query(text);
      }
      if (!context.user.empty() && (context.anywhere || user_member)
          && split_user(text, context.user, id_member, rest)
          && (context.anywhere || rest.empty())) {
        std::string replaced(context.replacement);
        replaced += rest;
        model::append_json_string(out, replaced);
      } else if (text.size() != context.decoded.size()) {
        model::append_json_string(out, text);
      } else {
        out += member;
      }
    } else if (user_member && !context.user.empty() && member == context.user) {
      model::append_json_string(out, context.replacement); // a number user id
    } else {
      out += member;
    }
    path.resize(restore);
  }
  out += object ? '}' : ']';
}

void EventTransform::apply(model::Event& event) {
  if (event.raw.empty() || event.raw[0] != '{') {
    return;
  }
  Context context;
  std::string replacement;
  const std::string user = event.user_id;
  if (m_options.pseudonym_key && !user.empty()) {
    replacement = pseudonym(*m_options.pseudonym_key, user);
    context.user = user;
    context.anywhere = user != "unknown";
    context.replacement = replacement;
    if (m_options.record_pseudonyms) {
      m_pseudonyms.emplace(user, replacement);
    }
  }
  std::string raw;
  raw.reserve(event.raw.size());
  std::string path = "data";
  rewrite(event.raw, path, true, true, context, raw);
  model::Event derived = model::normalise_compact(std::move(raw));
  if (!m_options.pseudonym_key) {
    derived.id = std::move(event.id);
  }
  derived.digest = event.digest;
  event = std::move(derived);
}

Result<void> write_pseudonym_map(const std::filesystem::path& path,
                                 const std::map<std::string, std::string>& pseudonyms) {
  std::string out = "user_id,pseudonym\r\n";
  for (const auto& [user, alias] : pseudonyms) {
    storage::append_csv_field(out, user);
    out += ',';
    storage::append_csv_field(out, alias);
    out += "\r\n";
  }
  return fs::write_file_atomic(path, out);
}

} // namespace bdd::exporting
