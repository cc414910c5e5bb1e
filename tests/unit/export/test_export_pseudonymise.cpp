#include <bdd/core/sha256.hpp>
#include <bdd/export/pseudonymise.hpp>
#include <bdd/model/json_text.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <map>
#include <string>

using bdd::exporting::EventTransform;
using bdd::exporting::TransformOptions;

namespace {

const std::string k_key = "0123456789abcdef-secret";

bdd::model::Event event_of(std::string_view json) {
  std::string compact;
  REQUIRE(bdd::model::append_minified_json(json, compact));
  return bdd::model::normalise_compact(std::move(compact));
}

TransformOptions with_key(bool record = false) {
  TransformOptions options;
  options.pseudonym_key = k_key;
  options.record_pseudonyms = record;
  return options;
}

EventTransform make(TransformOptions options) {
  auto transform = EventTransform::make(std::move(options));
  REQUIRE(transform);
  return std::move(transform).value();
}

} // namespace

TEST_CASE("export::pseudonym is p_ and 16 hex digits of the HMAC-SHA256 of the user id",
          "[export]") {
  const std::string alias = bdd::exporting::pseudonym(k_key, "user_1");
  CHECK(alias == "p_" + bdd::hmac_sha256_hex(k_key, "user_1").substr(0, 16));
  CHECK(alias.size() == 18);
  CHECK(bdd::exporting::pseudonym(k_key, "user_1") == alias);
  CHECK(bdd::exporting::pseudonym(k_key, "user_2") != alias);
  CHECK(bdd::exporting::pseudonym(k_key + "x", "user_1") != alias);
}

TEST_CASE("export::load_pseudonym_key reads the key file first, then the environment", "[export]") {
  bdd::test::TempDir dir;
  const auto file = dir.path() / "key";
  bdd::test::write_text(file, k_key + "\r\n");
  const std::map<std::string, std::string> env = {{"BDD_PSEUDONYM_KEY", "from-the-environment!"}};
  CHECK(bdd::exporting::load_pseudonym_key(file, env).value() == k_key);
  CHECK(bdd::exporting::load_pseudonym_key(std::nullopt, env).value() == "from-the-environment!");

  const auto none = bdd::exporting::load_pseudonym_key(std::nullopt, {});
  REQUIRE_FALSE(none);
  CHECK(none.error().code == bdd::Errc::config);
  CHECK(none.error().message.find("--pseudonym-key-file") != std::string::npos);
  CHECK(none.error().message.find("BDD_PSEUDONYM_KEY") != std::string::npos);

  bdd::test::write_text(file, "short\n");
  const auto weak = bdd::exporting::load_pseudonym_key(file, env);
  REQUIRE_FALSE(weak);
  CHECK(weak.error().message.find("shorter than 16 bytes") != std::string::npos);
  CHECK(weak.error().message.find("short\n") == std::string::npos);
  const auto weak_env =
      bdd::exporting::load_pseudonym_key(std::nullopt, {{"BDD_PSEUDONYM_KEY", "abc"}});
  REQUIRE_FALSE(weak_env);
  CHECK(weak_env.error().message.find("abc") == std::string::npos);

  bdd::test::write_text(file, std::string(5000, 'k'));
  CHECK_FALSE(bdd::exporting::load_pseudonym_key(file, env));
  CHECK_FALSE(bdd::exporting::load_pseudonym_key(dir.path() / "missing", env));
}

TEST_CASE("export::EventTransform replaces the user id everywhere it stands", "[export]") {
  auto transform = make(with_key(true));
  auto event = event_of(
      R"({"stored":"2025-01-01T00:00:00Z","event_type":"TrialEnded","element_id":"user_7",)"
      R"("object":{"userId":"user_7","index":12,"note":"user_7 said hi"},)"
      R"("payload":{"who":"user_7","list":["user_7",{"deep":{"ref":"user_7_12"}}],)"
      R"("other":"user_70","num":7}})");
  REQUIRE(bdd::model::display_id(event.id) == "user_7_12");
  transform.apply(event);
  const std::string alias = bdd::exporting::pseudonym(k_key, "user_7");
  CHECK(event.user_id == alias);
  CHECK(bdd::model::display_id(event.id) == alias + "_12");
  CHECK(event.element_id == alias);
  CHECK(event.event_type == "TrialEnded");
  CHECK(event.raw
        == R"({"stored":"2025-01-01T00:00:00Z","event_type":"TrialEnded","element_id":")" + alias
               + R"(","object":{"userId":")" + alias
               + R"(","index":12,"note":"user_7 said hi"},"payload":{"who":")" + alias
               + R"(","list":[")" + alias + R"(",{"deep":{"ref":")" + alias
               + R"(_12"}}],"other":"user_70","num":7}})");
  CHECK(transform.pseudonyms() == std::map<std::string, std::string>{{"user_7", alias}});
}

TEST_CASE("export::EventTransform handles number, missing and top-level ids", "[export]") {
  auto transform = make(with_key());
  // A number user id: the userId member becomes the pseudonym, other numbers stay.
  auto numeric = event_of(R"({"stored":"x","base":{"userId":100042,"index":1},"n":100042})");
  REQUIRE(numeric.user_id == "100042");
  transform.apply(numeric);
  const std::string alias = bdd::exporting::pseudonym(k_key, "100042");
  CHECK(numeric.user_id == alias);
  CHECK(numeric.raw
        == R"({"stored":"x","base":{"userId":")" + alias + R"(","index":1},"n":100042})");
  // A top-level id starting with the user id.
  auto web = event_of(R"({"id":"u9-abc","timestamp":"t","base":{"userId":"u9"},"label":"u9"})");
  transform.apply(web);
  const std::string web_alias = bdd::exporting::pseudonym(k_key, "u9");
  CHECK(bdd::model::display_id(web.id) == web_alias + "-abc");
  CHECK(web.raw.find("u9") == std::string::npos);
  // No user id: "unknown" is a placeholder, only a userId member equal to it would change.
  auto anonymous = event_of(R"({"id":"e1","answer":"unknown"})");
  REQUIRE(anonymous.user_id == "unknown");
  transform.apply(anonymous);
  CHECK(anonymous.raw == R"({"id":"e1","answer":"unknown"})");
  CHECK(anonymous.user_id == "unknown");
  // An empty user id hides nothing and replaces nothing.
  auto empty = event_of(R"({"id":"e2","base":{"userId":""},"x":""})");
  transform.apply(empty);
  CHECK(empty.raw == R"({"id":"e2","base":{"userId":""},"x":""})");
}

TEST_CASE("export::EventTransform drops fields and strips the page_url query", "[export]") {
  TransformOptions options;
  options.drop_fields = {"data.base.userAgent", "data.a\\.b", "data.list.x"};
  options.strip_url_query = true;
  auto transform = make(options);
  auto event = event_of(
      R"({"id":"e1","page_url":"https://x.org/p?user=u1&t=2#frag","base":{"userId":"u1",)"
      R"("userAgent":"Mozilla"},"a.b":1,"a":{"b":2},"list":[{"x":1}],"inner":{"page_url":"h?q"}})");
  const std::string id = event.id;
  transform.apply(event);
  CHECK(event.raw
        == R"({"id":"e1","page_url":"https://x.org/p","base":{"userId":"u1"},"a":{"b":2},)"
           R"("list":[{"x":1}],"inner":{"page_url":"h?q"}})");
  CHECK(event.page_url == "https://x.org/p");
  CHECK(event.user_id == "u1"); // no key: ids are kept
  CHECK(event.id == id);

  CHECK(bdd::exporting::without_url_query("https://h/p#f?x") == "https://h/p");
  CHECK(bdd::exporting::without_url_query("https://h/p") == "https://h/p");

  TransformOptions normalised_field;
  normalised_field.drop_fields = {"page_url"};
  const auto bad = EventTransform::make(normalised_field);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == bdd::Errc::usage);
  CHECK(bad.error().message.find("\"page_url\"") != std::string::npos);
}

TEST_CASE("export::EventTransform without options leaves every byte alone", "[export]") {
  auto transform = make({});
  const std::string json =
      R"({"id":"e\u00e9","s":"a\"b\\c\n","n":[1.50,-0,1E+2],"o":{"k":{"":null}},"t":true})";
  auto event = event_of(json);
  const auto before = event;
  transform.apply(event);
  CHECK(event.raw == before.raw);
  CHECK(event.id == before.id);
  CHECK(event.user_id == before.user_id);
}

TEST_CASE("export::write_pseudonym_map writes sorted user_id,pseudonym CSV", "[export]") {
  bdd::test::TempDir dir;
  const auto path = dir.path() / "map.csv";
  REQUIRE(bdd::exporting::write_pseudonym_map(path, {{"b,1", "p_2"}, {"a", "p_1"}}));
  CHECK(bdd::test::read_text(path) == "user_id,pseudonym\r\na,p_1\r\n\"b,1\",p_2\r\n");
}
