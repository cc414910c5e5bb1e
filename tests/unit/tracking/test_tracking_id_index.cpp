// tracking::IdIndex::compare_with_state: the one merge that finds the ids `verify` reports as
// lost (in the state, in no data file) and unrecorded (in a data file, not in the state), checked
// against a model of the rule written with std::set, including the bare number ids of states
// from before schema 3.
#include <bdd/tracking/id_index.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::test::TempDir;
using bdd::tracking::IdPlace;

namespace {

const std::string k_number = "\x1f"
                             "n";

// A state database with only what the comparison reads: its ids, and the mark of a state
// that may hold number ids as bare texts.
void write_state(const stdfs::path& path, const std::set<std::string>& ids, bool bare_numbers) {
  SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
          "CREATE TABLE ids(id TEXT PRIMARY KEY) WITHOUT ROWID;");
  if (bare_numbers) {
    db.exec("INSERT INTO meta VALUES('bare_number_ids', '1')");
  }
  SQLite::Transaction txn(db);
  SQLite::Statement insert(db, "INSERT INTO ids VALUES(?)");
  for (const auto& id : ids) {
    insert.bind(1, id);
    insert.exec();
    insert.reset();
  }
  txn.commit();
}

} // namespace

TEST_CASE("tracking::IdIndex::compare_with_state finds what a set model of the rule finds",
          "[tracking]") {
  const bool bare_numbers = GENERATE(false, true);
  const std::size_t limit = GENERATE(0U, 3U, 1000U);
  INFO("bare_numbers " << bare_numbers << ", limit " << limit);
  std::mt19937 random(static_cast<unsigned>(7 + limit + (bare_numbers ? 1 : 0)));
  TempDir dir;

  // Ids drawn from a small pool so that both sides overlap; number ids in both spellings.
  auto draw = [&] {
    const int n = static_cast<int>(random() % 400);
    switch (random() % 3) {
    case 0:
      return "id-" + std::to_string(n);
    case 1:
      return k_number + std::to_string(n);
    default:
      return std::to_string(n);
    }
  };
  std::set<std::string> state_ids;
  for (int i = 0; i < 300; ++i) {
    state_ids.insert(draw());
  }
  const stdfs::path state_db = dir.path() / "state.sqlite";
  write_state(state_db, state_ids, bare_numbers);

  std::map<std::string, IdPlace> added; // first place of each id
  auto index = bdd::tracking::make_id_index(dir.path() / "index.sqlite");
  REQUIRE(index);
  for (int i = 0; i < 300; ++i) {
    const std::string id = draw();
    const IdPlace place{"f" + std::to_string(random() % 5) + "/events.jsonl",
                        static_cast<std::uint64_t>(1 + random() % 1000)};
    REQUIRE((*index)->add(id, place));
    added.emplace(id, place);
  }

  // The model: the rule as the two old queries stated it.
  std::vector<std::string> lost;
  for (const auto& id : state_ids) {
    if (!added.contains(id) && !(bare_numbers && added.contains(k_number + id))) {
      lost.push_back(id); // in id order: a std::set's
    }
  }
  std::vector<std::pair<std::string, IdPlace>> unrecorded;
  for (const auto& [id, place] : added) {
    const bool as_bare =
        bare_numbers && id.starts_with(k_number) && state_ids.contains(id.substr(k_number.size()));
    if (!state_ids.contains(id) && !as_bare) {
      unrecorded.emplace_back(id, place);
    }
  }
  std::sort(unrecorded.begin(), unrecorded.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.file, a.second.line, a.first)
           < std::tie(b.second.file, b.second.line, b.first);
  });
  REQUIRE_FALSE(lost.empty());
  REQUIRE_FALSE(unrecorded.empty());

  auto compared = (*index)->compare_with_state(state_db, limit);
  REQUIRE(compared);
  CHECK(compared->not_added == lost.size());
  CHECK(compared->missing == unrecorded.size());
  lost.resize(std::min(limit, lost.size()));
  CHECK(compared->not_added_first == lost);
  // The first `limit` by place; ids seen at the same place may come in either order.
  REQUIRE(compared->missing_first.size() == std::min(limit, unrecorded.size()));
  for (std::size_t i = 0; i < compared->missing_first.size(); ++i) {
    const auto& [id, place] = compared->missing_first[i];
    CHECK(place.file == unrecorded[i].second.file);
    CHECK(place.line == unrecorded[i].second.line);
    CHECK(added.at(id).file == place.file);
    CHECK(added.at(id).line == place.line);
  }
}

TEST_CASE("tracking::IdIndex::compare_with_state with an empty side", "[tracking]") {
  TempDir dir;
  const stdfs::path state_db = dir.path() / "state.sqlite";
  write_state(state_db, {"a", "b"}, false);
  {
    auto index = bdd::tracking::make_id_index(dir.path() / "empty.sqlite");
    REQUIRE(index);
    auto compared = (*index)->compare_with_state(state_db, 10);
    REQUIRE(compared);
    CHECK(compared->not_added == 2);
    CHECK(compared->not_added_first == std::vector<std::string>{"a", "b"});
    CHECK(compared->missing == 0);
  }
  const stdfs::path empty_state = dir.path() / "empty-state.sqlite";
  write_state(empty_state, {}, false);
  auto index = bdd::tracking::make_id_index(dir.path() / "index.sqlite");
  REQUIRE(index);
  REQUIRE((*index)->add("z", {"b/events.csv", 9}));
  REQUIRE((*index)->add("y", {"a/events.csv", 4}));
  auto compared = (*index)->compare_with_state(empty_state, 10);
  REQUIRE(compared);
  CHECK(compared->not_added == 0);
  CHECK(compared->missing == 2);
  REQUIRE(compared->missing_first.size() == 2);
  CHECK(compared->missing_first[0].first == "y"); // by place, not by id
  CHECK(compared->missing_first[1].first == "z");
}
