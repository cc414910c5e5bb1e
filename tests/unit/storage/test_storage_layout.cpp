#include <bdd/core/utf8.hpp>
#include <bdd/model/event.hpp>
#include <bdd/storage/layout.hpp>

#include <catch2/catch.hpp>

#include <cctype>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using bdd::storage::Level;
using bdd::storage::PartitionNaming;
using bdd::storage::safe_component;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Undo safe_component for a component that was not truncated: percent-decoding must give the
// value back, which is what makes the mapping injective.
std::string decode(const std::string& component) {
  if (component == "%empty") {
    return "";
  }
  std::string out;
  for (std::size_t i = 0; i < component.size(); ++i) {
    if (component[i] == '%') {
      REQUIRE(i + 2 < component.size());
      const int high = hex_value(component[i + 1]);
      const int low = hex_value(component[i + 2]);
      REQUIRE(high >= 0);
      REQUIRE(low >= 0);
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += component[i];
    }
  }
  return out;
}

bool is_windows_device(std::string name) {
  name = name.substr(0, name.find('.'));
  for (char& c : name) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (name == "CON" || name == "PRN" || name == "AUX" || name == "NUL") {
    return true;
  }
  return name.size() == 4 && (name.rfind("COM", 0) == 0 || name.rfind("LPT", 0) == 0)
         && name[3] >= '0' && name[3] <= '9';
}

// Every rule safe_component promises, checked on one output.
void check_is_safe(const std::string& component) {
  INFO("component: " << component);
  REQUIRE_FALSE(component.empty());
  CHECK(component != ".");
  CHECK(component != "..");
  CHECK(component.front() != '.');
  CHECK(component.back() != '.');
  CHECK(component.back() != ' ');
  CHECK(component.size() <= bdd::storage::k_max_component_bytes);
  CHECK_FALSE(is_windows_device(component));
  bool bytes_ok = true; // one assertion per component, not per byte
  for (char c : component) {
    const auto byte = static_cast<unsigned char>(c);
    bytes_ok = bytes_ok && byte >= 0x20 && byte != 0x7f
               && std::string_view("/\\:*?\"<>| ").find(c) == std::string_view::npos;
  }
  CHECK(bytes_ok);
  // Whatever is not escaped is well-formed UTF-8.
  std::string_view rest = component;
  while (!rest.empty()) {
    const auto code_point = bdd::decode_utf8(rest);
    REQUIRE(code_point);
    rest.remove_prefix(code_point->length);
  }
}

} // namespace

TEST_CASE("storage::safe_component keeps ordinary ids readable", "[storage]") {
  CHECK(safe_component("user_A") == "user_A");
  CHECK(safe_component("P-007") == "P-007");
  CHECK(safe_component("TrialEnded") == "TrialEnded");
  CHECK(safe_component("v1.2") == "v1.2");
  CHECK(safe_component("ユーザー") == "ユーザー");
  CHECK(safe_component("Zoë 🎉") == "Zoë%20🎉");
}

TEST_CASE("storage::safe_component neutralises hostile values", "[storage]") {
  CHECK(safe_component("../../x") == "%2E.%2F..%2Fx");
  CHECK(safe_component("a/b") == "a%2Fb");
  CHECK(safe_component("a\\b") == "a%5Cb");
  CHECK(safe_component("..") == "%2E%2E");
  CHECK(safe_component(".") == "%2E");
  CHECK(safe_component(".bdd") == "%2Ebdd");
  CHECK(safe_component(".metadata.json") == "%2Emetadata.json");
  CHECK(safe_component("") == "%empty");
  CHECK(safe_component("x ") == "x%20");
  CHECK(safe_component("x.") == "x%2E");
  CHECK(safe_component("x") == "x");
  CHECK(safe_component("a%2Fb") == "a%252Fb");
  CHECK(safe_component("%empty") == "%25empty");
  CHECK(safe_component(std::string("nul\0byte", 8)) == "nul%00byte");
  CHECK(safe_component("tab\there\nnewline\x7f") == "tab%09here%0Anewline%7F");
  CHECK(safe_component("a~b") == "a%7Eb");
  SECTION("Windows device names, in any case and with an extension") {
    CHECK(safe_component("CON") == "%43ON");
    CHECK(safe_component("con") == "%63on");
    CHECK(safe_component("con.txt") == "%63on.txt");
    CHECK(safe_component("Nul.tar.gz") == "%4Eul.tar.gz");
    CHECK(safe_component("COM1") == "%43OM1");
    CHECK(safe_component("lpt9.log") == "%6Cpt9.log");
    CHECK(safe_component("COM\xC2\xB9") == "%43OM\xC2\xB9");
    CHECK(safe_component("CONSOLE") == "CONSOLE");
    CHECK(safe_component("COM10") == "COM10");
  }
  SECTION("invisible and control characters are escaped, invalid UTF-8 byte by byte") {
    CHECK(safe_component("a\xE2\x80\xAE"
                         "b")
          == "a%E2%80%AEb"); // right-to-left override
    CHECK(safe_component("a\xE2\x80\x8B"
                         "b")
          == "a%E2%80%8Bb"); // zero-width space
    CHECK(safe_component("\xEF\xBB\xBF"
                         "x")
          == "%EF%BB%BFx");                        // byte order mark
    CHECK(safe_component("\xC2\x85") == "%C2%85"); // C1 control (next line)
    CHECK(safe_component("a\xFF\xFE"
                         "b")
          == "a%FF%FEb");
    CHECK(safe_component("\xC3") == "%C3");               // truncated sequence
    CHECK(safe_component("\xC0\xAF") == "%C0%AF");        // overlong '/'
    CHECK(safe_component("\xED\xA0\x80") == "%ED%A0%80"); // surrogate
    CHECK(safe_component("\xE3\x83") == "%E3%83");
  }
  for (const char* value : {"../../x", "a/b", "..", ".", "", "CON", "con.txt", "x ", "x."}) {
    check_is_safe(safe_component(value));
  }
}

TEST_CASE("storage::safe_component bounds the length and keeps long values distinct", "[storage]") {
  const std::string long_value(300, 'a');
  const std::string component = safe_component(long_value);
  check_is_safe(component);
  CHECK(component.size() <= 100);
  CHECK(component.rfind(std::string(75, 'a'), 0) == 0);
  CHECK(component.find('~') != std::string::npos);

  std::string other = long_value;
  other.back() = 'b'; // differs only past the kept prefix
  CHECK(safe_component(other) != component);
  check_is_safe(safe_component(other));

  SECTION("the cut never splits an escape or a UTF-8 sequence") {
    for (std::size_t shift = 0; shift < 6; ++shift) {
      for (const std::string unit : {"/", "é", "ユ", "🎉"}) {
        std::string value(shift, 'x');
        while (value.size() < 400) {
          value += unit;
        }
        check_is_safe(safe_component(value));
        const std::string cut = safe_component(value);
        const std::string prefix = cut.substr(0, cut.find('~'));
        CHECK(prefix.find('%', prefix.size() >= 2 ? prefix.size() - 2 : 0) == std::string::npos);
      }
    }
  }
  SECTION("exactly at the limit nothing is truncated") {
    CHECK(safe_component(std::string(100, 'z')) == std::string(100, 'z'));
    CHECK(safe_component(std::string(101, 'z')).size() <= 100);
  }
}

TEST_CASE("storage::safe_component is injective on random hostile values", "[storage]") {
  // An alphabet of the bytes most likely to collide: escapes, dots, separators, case, the
  // truncation marker, and fragments of valid and invalid UTF-8.
  const std::vector<std::string> alphabet = {"a",        "A",
                                             "C",        "O",
                                             "N",        "1",
                                             ".",        "%",
                                             "2",        "F",
                                             "/",        "\\",
                                             " ",        "~",
                                             "-",        "_",
                                             "\x00",     "\n",
                                             "\x7f",     "\xC3",
                                             "é",        "\xA9",
                                             "\xFF",     "ユ",
                                             "\xE2\x80", "\xE2\x80\x8B",
                                             "🎉",        "%2F",
                                             "%25",      "~0"};
  std::mt19937 random(12345);
  std::map<std::string, std::string> seen; // component -> value
  for (int round = 0; round < 60000; ++round) {
    std::string value;
    const int pieces = static_cast<int>(random() % 9);
    for (int i = 0; i < pieces; ++i) {
      value += alphabet[random() % alphabet.size()];
    }
    if (round % 500 == 0) {
      value += std::string(120 + random() % 40, 'q'); // force truncation now and then
    }
    const std::string component = safe_component(value);
    check_is_safe(component);
    if (component.find('~') == std::string::npos) {
      CHECK(decode(component) == value);
    }
    auto [it, inserted] = seen.emplace(component, value);
    if (!inserted) {
      INFO("component " << component);
      CHECK(it->second == value);
    }
  }
  CHECK(seen.size() > 10000);
}

TEST_CASE("storage::leaf_directory builds one safe component per level", "[storage]") {
  bdd::model::Event event;
  event.user_id = "../../etc";
  event.event_type = "a/b";
  event.stored_timestamp = "2025-11-18T23:30:00-02:00";
  event.timestamp = "2020-01-01T00:00:00Z";

  CHECK(bdd::storage::leaf_directory(event, {}, PartitionNaming::plain).empty());
  CHECK(bdd::storage::leaf_directory(
            event, {Level::by_user_id, Level::by_date}, PartitionNaming::plain)
            .generic_string()
        == "%2E.%2F..%2Fetc/2025-11-19");
  CHECK(
      bdd::storage::leaf_directory_string(
          event, {Level::by_event_type, Level::by_user_id, Level::by_date}, PartitionNaming::plain)
      == "a%2Fb/%2E.%2F..%2Fetc/2025-11-19");

  SECTION("by_date falls back to timestamp, then to unknown-date") {
    event.stored_timestamp = "not a time";
    CHECK(bdd::storage::leaf_directory_string(event, {Level::by_date}, PartitionNaming::plain)
          == "2020-01-01");
    event.timestamp.reset();
    CHECK(bdd::storage::leaf_directory_string(event, {Level::by_date}, PartitionNaming::plain)
          == "unknown-date");
    event.stored_timestamp.reset();
    CHECK(bdd::storage::leaf_directory_string(event, {Level::by_date}, PartitionNaming::plain)
          == "unknown-date");
  }
  SECTION("epoch timestamps give a day too") {
    event.stored_timestamp = "1763460001532";
    CHECK(bdd::storage::level_value(event, Level::by_date) == "2025-11-18");
  }
}

namespace {

// What a hive reader does to the text after '=' (URL decoding, as DuckDB does: checked against
// DuckDB itself in tests/loaders/hive.js).
std::string url_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()
        && std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0
        && std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace

TEST_CASE("storage::folder_name names hive folders key=value, decoded back to the value",
          "[storage]") {
  using bdd::storage::folder_name;
  using bdd::storage::folder_value;
  CHECK(folder_name(Level::by_user_id, "u1", PartitionNaming::plain) == "u1");
  CHECK(folder_name(Level::by_user_id, "u1", PartitionNaming::hive) == "user_id=u1");
  CHECK(folder_name(Level::by_date, "2025-11-19", PartitionNaming::hive) == "date=2025-11-19");
  CHECK(folder_name(Level::by_event_type, "a/b", PartitionNaming::hive) == "event_type=a%2Fb");
  CHECK(folder_name(Level::by_user_id, "", PartitionNaming::hive) == "user_id=");
  CHECK(folder_name(Level::by_user_id, "x=y", PartitionNaming::hive) == "user_id=x%3Dy");
  CHECK(folder_name(Level::by_user_id, "a b+c", PartitionNaming::hive) == "user_id=a%20b%2Bc");

  const std::vector<std::string> values = {"",
                                           "%empty",
                                           "%",
                                           "%25",
                                           "=",
                                           "a=b",
                                           "/",
                                           "..",
                                           ".",
                                           " ",
                                           "+",
                                           "a b",
                                           "CON",
                                           "caf\xC3\xA9",
                                           "\xE2\x80\xAE",
                                           "~",
                                           "unknown-date",
                                           "user_id=x",
                                           std::string(200, 'x'),
                                           std::string(200, 'x') + "y"};
  std::set<std::string> seen;
  for (const auto& value : values) {
    INFO("value \"" << value << "\"");
    const std::string name = folder_name(Level::by_user_id, value, PartitionNaming::hive);
    CHECK(seen.insert(name).second); // injective
    CHECK(name.find('/') == std::string::npos);
    const auto escaped = folder_value(Level::by_user_id, name, PartitionNaming::hive);
    REQUIRE(escaped);
    CHECK(*escaped == (value.empty() ? std::string() : safe_component(value)));
    if (value.size() < 100) {
      CHECK(url_decoded(*escaped) == value);
    } else {
      CHECK(name.size() <= std::string("user_id=").size() + bdd::storage::k_max_component_bytes);
      CHECK(url_decoded(*escaped).find('~') != std::string::npos); // the hashed tail
    }
  }
  CHECK_FALSE(folder_value(Level::by_user_id, "date=x", PartitionNaming::hive));
  CHECK_FALSE(folder_value(Level::by_user_id, "user_id", PartitionNaming::hive));
  CHECK(folder_value(Level::by_user_id, "user_id", PartitionNaming::plain) == "user_id");
}

TEST_CASE("storage::leaf_directory puts each level's key before its value in hive naming",
          "[storage]") {
  bdd::model::Event event;
  event.user_id = "a=b";
  event.event_type = "";
  event.stored_timestamp = "2025-11-18T23:30:00-02:00";
  CHECK(bdd::storage::leaf_directory_string(
            event, {Level::by_event_type, Level::by_user_id, Level::by_date}, PartitionNaming::hive)
        == "event_type=/user_id=a%3Db/date=2025-11-19");
}
