// End-to-end: the walk of the whole study folder (ops/state_check.hpp) runs only when the state
// may not describe the files; between walks, links at recorded paths are still refused.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/temp_dir.hpp>
#include <support/workspace.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

using bdd::test::contains;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

constexpr int k_exit_storage = 8;

json nested_jsonl() {
  return {{"storage",
           {{"default_format", "jsonl"},
            {"folder_structure", json::array({"by_user_id", "by_date"})}}}};
}

void add_events(Workspace& ws, std::size_t count) {
  bdd::fake_api::GeneratorOptions options;
  options.count = count;
  options.users = 4;
  options.days = 2;
  ws.server().append_generated(Workspace::k_study, options);
}

} // namespace

TEST_CASE("e2e: a run after a recent walk does not walk the study folder again",
          "[e2e][ownership]") {
  Workspace ws(nested_jsonl());
  add_events(ws, 200);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  // A data file at a path no event goes to: only the walk sees it (93b4b7e refused it on every
  // run). The run after a walk within a day leaves it alone, and writes nothing there.
  const auto foreign = ws.study_dir() / "nobody" / "1999-01-01" / "events.jsonl";
  stdfs::create_directories(foreign.parent_path());
  std::ofstream(foreign) << "{}\n";
  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stderr: " << run.err);
  CHECK(run.exit_code == 0);
  CHECK(bdd::test::read_text(foreign) == "{}\n");

  SECTION("a state that disagrees with .metadata.json walks again and refuses the file") {
    auto metadata = json::parse(bdd::test::read_text(ws.study_dir() / ".metadata.json"));
    metadata["events_stored"] = metadata["events_stored"].get<int>() - 1;
    std::ofstream(ws.study_dir() / ".metadata.json") << metadata.dump();
    auto refused = ws.bdd({"download", Workspace::k_study});
    INFO("stderr: " << refused.err);
    CHECK(refused.exit_code == k_exit_storage);
    CHECK(contains(refused.err, "nobody/1999-01-01/events.jsonl"));
  }
  SECTION("a link in place of a recorded leaf's folder is refused without a walk") {
    bdd::test::TempDir outside;
    const auto leaf = ws.data_files().front();
    const auto copy = outside.path() / "copy";
    stdfs::copy(leaf.parent_path(), copy, stdfs::copy_options::recursive);
    stdfs::remove_all(leaf.parent_path());
    stdfs::create_directory_symlink(copy, leaf.parent_path());
    auto refused = ws.bdd({"download", Workspace::k_study});
    INFO("stderr: " << refused.err);
    CHECK(refused.exit_code == k_exit_storage);
    CHECK(contains(refused.err, "symbolic link"));
  }
}
