// End-to-end: events a hostile or broken server sends. Ids that differ only by their JSON type
// (1 and "1") or by digits a double cannot hold are distinct events, stored once each in every
// format, also across incremental runs; an event nested 70,000 levels deep or one that is not an
// event at all crashes no command; and (once the quarantine exists) such an event never stops
// the rest of the study from being stored.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::data_field;
using bdd::test::ProcessResult;
using bdd::test::Workspace;
using nlohmann::json;
using enum bdd::cli::ExitCode;

// An event with `id_token` as its id, written verbatim (the fake server serves it as given).
std::string event_with_id(const std::string& id_token, int n) {
  return R"({"id":)" + id_token + R"(,"stored":"2025-11-18T10:00:)" + (n < 10 ? "0" : "")
         + std::to_string(n) + R"(.000Z","types":["t"],"base":{"userId":"u)" + std::to_string(n)
         + R"(","index":)" + std::to_string(n) + "}}";
}

// Every stored event as (the id users see, whether the raw event's id is a number), with how
// many times each is stored.
std::map<std::pair<std::string, bool>, int> stored_ids_with_types(const Workspace& ws) {
  std::map<std::pair<std::string, bool>, int> out;
  for (const auto& event : ws.stored_events()) {
    const json data = data_field(event);
    out[{event.at("id").get<std::string>(), data.at("id").is_number()}] += 1;
  }
  return out;
}

std::string nested(std::size_t levels) {
  return std::string(levels, '[') + "1" + std::string(levels, ']');
}

// A process that died of a signal (a crash) is reported as 128 + the signal number.
void check_no_crash(const ProcessResult& run) {
  INFO("exit " << run.exit_code << "\nstdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code >= 0);
  CHECK(run.exit_code < 128);
}

} // namespace

TEST_CASE("download::ids that differ as JSON tokens are stored once each in every format",
          "[e2e][ids]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv", "sqlite");
  INFO("format " << format);
  Workspace ws(
      json{{"storage", {{"default_format", format}}}, {"download", {{"default_page_size", 3}}}});
  // Pages of 3 put the pairs on both sides of page seams too.
  const std::vector<std::pair<std::string, bool>> first = {
      {"1", true},
      {"1", false},
      {"9007199254740993", true},
      {"9007199254740992", true},
      {"9007199254740993", false},
      {"1.0", true},
      {"123456789012345678901234567890", true},
      {"123456789012345678901234567891", true},
  };
  const auto token = [](const std::pair<std::string, bool>& id) {
    return id.second ? id.first : "\"" + id.first + "\"";
  };
  std::vector<std::string> events;
  for (std::size_t i = 0; i < first.size(); ++i) {
    events.push_back(event_with_id(token(first[i]), static_cast<int>(i)));
  }
  ws.server().append(Workspace::k_study, events);
  ws.add_events(5);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(contains(run.out, "downloaded 13 new events"));
  auto stored = stored_ids_with_types(ws);
  for (const auto& id : first) {
    INFO("id " << token(id));
    CHECK(stored[id] == 1);
  }
  CHECK(ws.stored_events().size() == 13);

  SECTION("an incremental run adds none twice and keeps adding both kinds") {
    auto again = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << again.out << "\nstderr: " << again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(ws.stored_events().size() == 13);

    ws.server().append(Workspace::k_study,
                       {event_with_id("2", 20),
                        event_with_id("\"2\"", 21),
                        event_with_id("\"1\"", 22), // the same id as an event already stored
                        event_with_id("1", 23)});
    auto more = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << more.out << "\nstderr: " << more.err);
    REQUIRE(more.exit_code == 0);
    stored = stored_ids_with_types(ws);
    CHECK(stored[{"2", true}] == 1);
    CHECK(stored[{"2", false}] == 1);
    CHECK(stored[{"1", true}] == 1);
    CHECK(stored[{"1", false}] == 1);
    CHECK(ws.stored_events().size() == 15);

    // verify reads the files back and must rebuild the same identity for each of them.
    auto verify = ws.bdd({"verify", Workspace::k_study});
    INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
    CHECK(verify.exit_code == 0);
  }
  SECTION("--repair rebuilds the same identities from the files") {
    auto repair = ws.bdd({"download", Workspace::k_study, "--repair"});
    INFO("stdout: " << repair.out << "\nstderr: " << repair.err);
    REQUIRE(repair.exit_code == 0);
    CHECK(ws.stored_events().size() == 13);
    auto verify = ws.bdd({"verify", Workspace::k_study});
    INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
    CHECK(verify.exit_code == 0);
  }
}

TEST_CASE("commands that read pages do not crash on an event nested 70,000 levels deep",
          "[e2e][deep]") {
  Workspace ws;
  ws.add_events(3);
  ws.server().append(Workspace::k_study, {R"({"id":"deep","x":)" + nested(70'000) + "}"});
  ws.add_events(3);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"fetch", Workspace::k_study},
        std::vector<std::string>{"test-connection", Workspace::k_study},
        std::vector<std::string>{"remote"},
        std::vector<std::string>{"download", Workspace::k_study}}) {
    INFO("bdd " << args.front());
    check_no_crash(ws.bdd(args));
  }
  // Whatever the download did, it did not leave its history row "running".
  const json history = ws.history();
  if (history.is_object() && history.contains("runs")) {
    for (const auto& entry : history["runs"]) {
      CHECK(entry.value("status", "") != "running");
    }
  }
}

// An unusable item is kept in the quarantine (once), counted in the history, `status` and
// `verify`; every other event of its page is stored; `--strict` makes it a failure (exit 11).
TEST_CASE("download::one unusable event never stops the study", "[e2e][quarantine]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv", "sqlite");
  const std::string poison =
      GENERATE(as<std::string>{},
               "42",
               R"("x")",
               "[1]",
               "null",
               std::string("{\"id\":\"bad\xFF\"}"),
               std::string("\xEF\xBB\xBF{\"id\":\"bom\"}"),
               R"({"id":"deep","x":)" + std::string(70'000, '[') + std::string(70'000, ']') + "}");
  INFO("format " << format << ", poison " << poison.substr(0, 40));
  Workspace ws(
      json{{"storage", {{"default_format", format}}}, {"download", {{"default_page_size", 4}}}});
  ws.add_events(5);
  ws.server().append(Workspace::k_study, {poison});
  ws.add_events(6);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == 0);
  // The other 11 events are stored, each once; the poison is not among them.
  const auto stored = ws.stored_events();
  CHECK(stored.size() == 11);
  std::set<std::string> ids;
  for (const auto& event : stored) {
    CHECK(ids.insert(event.at("id").get<std::string>()).second);
  }
  CHECK(ids.count("bom") == 0);
  CHECK(ids.count("deep") == 0);

  // The next run is not stuck at that page, and adds nothing twice.
  ws.add_events(2);
  auto again = ws.bdd({"download", Workspace::k_study});
  INFO("again stdout: " << again.out << "\nstderr: " << again.err);
  CHECK(again.exit_code == 0);
  CHECK(ws.stored_events().size() == 13);
  CHECK(ws.history().front()["unusable_events"] == 1);
  CHECK(ws.history().back()["unusable_events"] == 0); // read again, not quarantined twice
  auto status = ws.bdd({"status", Workspace::k_study, "--json"});
  INFO("status: " << status.out << status.err);
  CHECK(json::parse(status.out).at("quarantined") == 1);
  auto verify = ws.bdd({"verify", Workspace::k_study, "--json"});
  INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("\"quarantined\"") != std::string::npos);

  // --strict: the same kind of item again is a failure with its own exit code, after the rest
  // of the page is stored.
  ws.server().append(Workspace::k_study, {"[2]"});
  ws.add_events(1);
  auto strict = ws.bdd({"download", Workspace::k_study, "--strict"});
  INFO("strict stdout: " << strict.out << "\nstderr: " << strict.err);
  CHECK(strict.exit_code == k_exit_unusable_data);
  CHECK(ws.stored_events().size() == 14);
}
