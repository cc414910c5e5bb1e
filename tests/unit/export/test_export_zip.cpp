#include "python_script.hpp"

#include <bdd/core/redact.hpp>
#include <bdd/export/zip_archive.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

#include <chrono>
#include <filesystem>
#include <string>

using bdd::exporting::Manifest;
using bdd::exporting::ZipInput;

namespace {

// The zip as Python's zipfile reads it, each entry's SHA-256 by hashlib (independent of bdd and
// of libzip): {"entries": {name: {"sha256", "bytes", "mtime"}}, "manifest": <MANIFEST.json>}.
nlohmann::json read_with_python(const std::filesystem::path& zip,
                                const std::filesystem::path& dir) {
  return nlohmann::json::parse(bdd::test::run_python_script(
      dir,
      "import hashlib, json, sys, zipfile\n"
      "z = zipfile.ZipFile(sys.argv[1])\n"
      "assert z.testzip() is None\n"
      "entries = {}\n"
      "for info in z.infolist():\n"
      "    data = z.read(info)\n"
      "    entries[info.filename] = {'sha256': hashlib.sha256(data).hexdigest(),\n"
      "        'bytes': len(data), 'mtime': list(info.date_time),\n"
      "        'deflated': info.compress_type == zipfile.ZIP_DEFLATED}\n"
      "print(json.dumps({'entries': entries,\n"
      "    'manifest': json.loads(z.read('MANIFEST.json'))}))\n",
      zip));
}

Manifest sample_manifest() {
  Manifest manifest;
  manifest.bdd_version = "9.9.9";
  manifest.study = "demo-study";
  manifest.api_base_url = "https://user:pw@api.example.org/v1?api_key=SECRET#x";
  // 2025-03-04T05:06:08Z
  manifest.exported_at = std::chrono::system_clock::time_point(std::chrono::seconds(1741064768));
  manifest.filters = R"({"since":"2025-01-01","user":["u1","u2"]})";
  manifest.options = R"({"format":"csv","flatten":true})";
  manifest.events_stored = 1234;
  manifest.remote_total = 1240;
  manifest.last_download = "2025-03-01T00:00:00Z";
  return manifest;
}

} // namespace

TEST_CASE("export::write_export_zip packs the files and a manifest whose hashes check",
          "[export]") {
  bdd::test::TempDir dir;
  const auto csv = dir.path() / "a.csv";
  const auto map = dir.path() / "b.jsonl";
  bdd::test::write_text(csv, "id,user_id\r\ne1,\"x,y\"\r\n");
  bdd::test::write_text(map, std::string(100'000, 'z') + "\n");
  const auto zip = dir.path() / "out.zip";
  REQUIRE(bdd::exporting::write_export_zip(
      zip,
      sample_manifest(),
      {ZipInput{csv, "demo-export.csv", 1}, ZipInput{map, "other.jsonl", 7}}));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
  }
  CHECK(files == 3); // the two inputs and the zip: libzip's temporary file is gone
  const auto read = read_with_python(zip, dir.path());
  const auto& entries = read["entries"];
  REQUIRE(entries.size() == 3);
  const auto& manifest = read["manifest"];
  CHECK(manifest["manifest_version"] == 1);
  CHECK(manifest["bdd_version"] == "9.9.9");
  CHECK(manifest["study"] == "demo-study");
  CHECK(manifest["api_base_url"] == "https://api.example.org/v1");
  CHECK(manifest["exported_at"] == "2025-03-04T05:06:08.000Z");
  CHECK(manifest["filters"] == nlohmann::json{{"since", "2025-01-01"}, {"user", {"u1", "u2"}}});
  CHECK(manifest["options"] == nlohmann::json{{"flatten", true}, {"format", "csv"}});
  CHECK(manifest["local_copy"]
        == nlohmann::json{{"events_stored", 1234},
                          {"remote_total", 1240},
                          {"last_download", "2025-03-01T00:00:00Z"}});
  REQUIRE(manifest["files"].size() == 2);
  const std::pair<const char*, std::uint64_t> expected[] = {{"demo-export.csv", 1},
                                                            {"other.jsonl", 7}};
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& file = manifest["files"][i];
    const std::string name = expected[i].first;
    CHECK(file["name"] == name);
    CHECK(file["rows"] == expected[i].second);
    CHECK(file["sha256"] == entries[name]["sha256"]);
    CHECK(file["bytes"] == entries[name]["bytes"]);
    CHECK(entries[name]["deflated"] == true);
    CHECK(entries[name]["mtime"] == nlohmann::json{2025, 3, 4, 5, 6, 8});
  }
  CHECK(entries["other.jsonl"]["bytes"] == 100'001);
}

TEST_CASE("export::manifest_json keeps no secret and says when remote_total is unknown",
          "[export]") {
  bdd::register_secret("sk_test_manifest_secret");
  auto manifest = sample_manifest();
  manifest.api_base_url = "https://api.example.org/sk_test_manifest_secret/v1";
  manifest.remote_total.reset();
  const std::string text = bdd::exporting::manifest_json(manifest, {});
  CHECK(text.find("sk_test") == std::string::npos);
  CHECK(text.find("user:pw") == std::string::npos);
  const auto parsed = nlohmann::json::parse(text);
  CHECK(parsed["local_copy"]["remote_total"].is_null());
  CHECK(parsed["files"] == nlohmann::json::array());
  CHECK(text.back() == '\n');
}

TEST_CASE("export::write_export_zip leaves nothing when it cannot write", "[export]") {
  bdd::test::TempDir dir;
  const auto input = dir.path() / "in" / "a.csv";
  std::filesystem::create_directories(input.parent_path());
  bdd::test::write_text(input, "id\r\n");
  const auto out = dir.path() / "out";
  std::filesystem::create_directories(out);
  // Into a directory that does not exist, from an input that does not exist, with a name that
  // would hide the manifest: an error each time, and nothing written.
  const auto no_dir = bdd::exporting::write_export_zip(
      out / "missing" / "x.zip", sample_manifest(), {ZipInput{input, "a.csv", 1}});
  REQUIRE_FALSE(no_dir);
  CHECK(no_dir.error().code == bdd::Errc::storage);
  CHECK(no_dir.error().message.find("x.zip") != std::string::npos);
  const auto no_input = bdd::exporting::write_export_zip(
      out / "x.zip", sample_manifest(), {ZipInput{dir.path() / "absent.csv", "a.csv", 0}});
  REQUIRE_FALSE(no_input);
  CHECK(no_input.error().code == bdd::Errc::storage);
  const auto bad_name = bdd::exporting::write_export_zip(
      out / "x.zip", sample_manifest(), {ZipInput{input, "MANIFEST.json", 1}});
  REQUIRE_FALSE(bad_name);
  CHECK(std::filesystem::is_empty(out));
}
