// End-to-end: what `bdd export` makes of the events besides plain rows. `--flatten` on
// adversarial data, checked against a flattening written here in Python from the server's own
// events; xlsx read with openpyxl, as users read it, and its row limit; `--pseudonymise` (no
// original user id anywhere in the unzipped export, pseudonyms as Python's hmac computes them,
// stable across runs, different under another secret, the secret never written); `--zip` whose
// MANIFEST.json hashes Python's hashlib checks.

#include "export_oracle.hpp"

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/process.hpp>
#include <support/workspace.hpp>
#include <sys/resource.h>

#include <set>
#include <string>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::read_text;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;
using enum bdd::cli::ExitCode;

const char* const k_study = Workspace::k_study;
const std::string k_secret = "a-test-secret-of-32-bytes-012345";

// Events no generator makes: every kind of value `--flatten` must keep apart.
std::vector<std::string> adversarial_events() {
  return {
      R"({"id":"adv-1","stored":"2030-01-01T00:00:01.000Z","timestamp":"2030-01-01T00:00:00.000Z",)"
      R"("base":{"userId":"u,1","index":1},"text":"a, \"b\"\r\nc\td","u":"Größe 😀 ユーザー",)"
      R"("n":{"m":{"o":null}},"a.b":1,"a":{"b":2},"a\\.b":3,"list":[1,"x,y",{"k":null}],"e":{},)"
      R"("num":1.50,"big":12345678901234567890,"neg":-0.5e-3,"t":true,"f":false})",
      R"({"id":"adv-2","stored":"2030-01-01T00:00:02.000Z","text":"","dup":1,"dup":2,)"
      R"("deep":{"x":{"y":{"z":[]}}},"a":{"b":"now a string"}})",
      R"({"id":"adv-3","stored":"2030-01-01T00:00:03.000Z","=cmd":"=1+1","":{"":"empty keys"}})",
  };
}

// An event with a string longer than an Excel cell holds.
std::string huge_event() {
  return R"({"id":"adv-4","stored":"2030-01-01T00:00:04.000Z","huge":")" + std::string(100'000, 'h')
         + R"(\"\n"})";
}

std::unique_ptr<Workspace>
downloaded_with(std::size_t generated, bool nasty, const std::vector<std::string>& extra = {}) {
  auto ws = std::make_unique<Workspace>();
  ws->add_events(generated, nasty);
  if (!extra.empty()) {
    ws->server().append(k_study, extra);
  }
  auto run = ws->bdd({"download", k_study});
  INFO(run.err);
  REQUIRE(run.exit_code == k_exit_success);
  return ws;
}

// The server's events in export order, as the oracle computes it.
std::vector<bdd::model::Event> expected_events(const Workspace& ws) {
  return bdd::test::expected_export(
      bdd::test::server_events_normalised(ws.server().events(k_study)));
}

bdd::test::ProcessResult run_python(const std::string& script, std::vector<std::string> args) {
  args.insert(args.begin(), {"-c", script});
  auto run = bdd::test::run_process("/usr/bin/python3", args, {});
  INFO("python stdout: " << run.out << "\npython stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  return run;
}

bdd::test::ProcessResult must_export(const Workspace& ws,
                                     std::vector<std::string> args,
                                     std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), {"export", k_study, "--force"});
  auto run = ws.bdd(args, std::move(env));
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == k_exit_success);
  return run;
}

// The flattening of README's "Flattened columns", written again in Python: reads the raw events
// (one JSON object {"id", "raw"} per line, in export order) and the flattened csv, and checks
// the header and every cell.
const char* const k_python_flatten = R"PY(
import csv, json, sys
csv.field_size_limit(10**7)
class Obj(list): pass
def parse(text):
    return json.loads(text, object_pairs_hook=Obj, parse_int=lambda s: ('num', s),
                      parse_float=lambda s: ('num', s))
def esc(key): return key.replace('\\', '\\\\').replace('.', '\\.')
def walk(obj, path, columns, row):
    for key, value in obj:
        name = path + '.' + esc(key)
        if isinstance(value, Obj) and len(value) > 0:
            walk(value, name, columns, row)
            continue
        if name not in columns: columns.append(name)
        row[name] = value
lead = ['id', 'user_id', 'event_type', 'element_id', 'timestamp', 'stored_timestamp', 'page_url']
columns, rows = [], []
for line in open(sys.argv[1], encoding='utf-8'):
    event = json.loads(line)
    row = {}
    walk(parse(event['raw']), 'data', columns, row)
    rows.append((event['id'], row))
with open(sys.argv[2], newline='', encoding='utf-8') as f:
    table = list(csv.reader(f))
assert table[0] == lead + columns, ('header', table[0][:12], columns[:12])
assert len(table) == len(rows) + 1, (len(table), len(rows))
def cell_of(value):
    if value is None: return ''
    if value is True: return 'true'
    if value is False: return 'false'
    if isinstance(value, tuple): return value[1]
    if isinstance(value, str): return value
    return None  # an array or {}: JSON text, compared parsed
for (id_, expected), got in zip(rows, table[1:]):
    assert got[0] == id_, (got[0], id_)
    assert len(got) == len(lead) + len(columns), (id_, len(got))
    for name, text in zip(columns, got[len(lead):]):
        if name not in expected:
            assert text == '', (id_, name, text)
            continue
        want = cell_of(expected[name])
        if want is None:
            assert parse(text) == expected[name], (id_, name, text)
        else:
            assert text == want, (id_, name, text[:80], want[:80])
print(len(columns))
)PY";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = 0, end; at < text.size(); at = end + 1) {
    end = text.find('\n', at);
    end = end == std::string::npos ? text.size() : end;
    out.push_back(text.substr(at, end - at));
  }
  return out;
}

// Writes the raw events of `events` for k_python_flatten.
void write_raws(const stdfs::path& path, const std::vector<bdd::model::Event>& events) {
  std::string out;
  for (const auto& event : events) {
    out += json{{"id", std::string(bdd::model::display_id(event.id))}, {"raw", event.raw}}.dump();
    out += '\n';
  }
  bdd::test::write_text(path, out);
}

} // namespace

TEST_CASE("export::--flatten spreads data over one column per value, exactly", "[e2e][export]") {
  auto events = adversarial_events();
  events.push_back(huge_event());
  auto ws = downloaded_with(200, true, events);
  const auto expected = expected_events(*ws);
  REQUIRE(expected.size() == 204);
  write_raws(ws->dir() / "raws.jsonl", expected);
  auto run = must_export(*ws, {"--flatten", "-o", "flat.csv", "--json"});
  const json summary = json::parse(run.out);
  CHECK(summary["rows"] == 204);
  auto checked = run_python(
      k_python_flatten, {(ws->dir() / "raws.jsonl").string(), (ws->dir() / "flat.csv").string()});
  CHECK(summary["columns"] == 7 + std::stoi(checked.out));
  // The keys that look alike stay apart, and numbers keep their spelling, unquoted.
  const std::string csv = read_text(ws->dir() / "flat.csv");
  CHECK(contains(csv, ",data.a\\.b,data.a.b,data.a\\\\\\.b,"));
  CHECK(contains(csv, ",1.50,12345678901234567890,-0.5e-3,true,false"));
  // The same export twice, and from standard output: the same bytes.
  must_export(*ws, {"--flatten", "-o", "again.csv"});
  CHECK(read_text(ws->dir() / "again.csv") == csv);
  auto piped = ws->bdd({"export", k_study, "--flatten", "-o", "-"});
  CHECK(piped.out == csv);

  // Only tables flatten; a limit too low for the columns says what to do.
  auto jsonl = ws->bdd({"export", k_study, "--flatten", "--format", "jsonl"});
  CHECK(jsonl.exit_code == k_exit_usage);
  CHECK(contains(jsonl.err, "--flatten"));
  CHECK(contains(jsonl.err, "csv or xlsx"));
}

TEST_CASE("export::xlsx is one sheet that openpyxl reads with numbers as numbers",
          "[e2e][export]") {
  auto ws = downloaded_with(150, true, adversarial_events());
  must_export(*ws, {"-o", "plain.csv"});
  must_export(*ws, {"-o", "plain.xlsx", "--format", "xlsx"});
  must_export(*ws, {"--flatten", "-o", "flat.csv"});
  must_export(*ws, {"--flatten", "-o", "flat.xlsx", "-f", "xlsx"});
  // Every cell of the sheet against the csv of the same export: the same text, except that
  // numbers (at most 15 significant digits) and booleans of a flattened sheet are Excel's own,
  // blank cells are empty fields, and control characters but tab and LF read as Excel's _xHHHH_.
  const char* const compare = R"PY(
import csv, re, sys, openpyxl
csv.field_size_limit(10**7)
def excel_text(s): return re.sub(r'[\x00-\x08\x0b-\x1f]', lambda m: '_x%04X_' % ord(m.group()), s)
def digits(s): return len(re.sub(r'^0+', '', re.sub(r'[^0-9]', '', s.split('e')[0].split('E')[0])))
for table, book, flat in ((sys.argv[1], sys.argv[2], False), (sys.argv[3], sys.argv[4], True)):
    with open(table, newline='', encoding='utf-8') as f:
        rows = list(csv.reader(f))
    sheet = openpyxl.load_workbook(book, read_only=True).worksheets[0]
    assert sheet.title == 'events'
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(cells) == len(rows), (len(cells), len(rows))
    numbers = 0
    for want, got in zip(rows, cells):
        got = got + [None] * (len(want) - len(got))
        assert len(got) == len(want)
        for w, g in zip(want, got):
            if w == '':
                assert g is None or g == '', (w, g)
            elif isinstance(g, bool):
                assert flat and w == ('true' if g else 'false'), (w, g)
            elif isinstance(g, (int, float)):
                assert flat and float(w) == g and digits(w) <= 15, (w, g)
                numbers += 1
            else:
                assert g == excel_text(w), (w[:60], g[:60])
    assert (numbers > 0) == flat, numbers
print('ok')
)PY";
  run_python(compare,
             {(ws->dir() / "plain.csv").string(),
              (ws->dir() / "plain.xlsx").string(),
              (ws->dir() / "flat.csv").string(),
              (ws->dir() / "flat.xlsx").string()});
  auto piped = ws->bdd({"export", k_study, "-f", "xlsx", "-o", "-"});
  CHECK(piped.exit_code == k_exit_usage);
  CHECK(piped.out.empty());

  // A text longer than a cell: refused (an export is exact), the row and column named, nothing
  // left behind.
  ws->server().append(k_study, {huge_event()});
  REQUIRE(ws->bdd({"download", k_study}).exit_code == k_exit_success);
  for (const bool flatten : {false, true}) {
    std::vector<std::string> args = {"export", k_study, "-f", "xlsx", "-o", "long.xlsx"};
    if (flatten) {
      args.push_back("--flatten");
    }
    auto refused = ws->bdd(args);
    CHECK(refused.exit_code == k_exit_usage);
    CHECK(contains(refused.err, "32767 characters an Excel cell holds"));
    CHECK(contains(refused.err, flatten ? "column \"data.huge\"" : "column \"data\""));
    CHECK_FALSE(stdfs::exists(ws->dir() / "long.xlsx"));
  }
  for (const auto& entry : stdfs::directory_iterator(ws->dir())) {
    CHECK_FALSE(entry.path().filename().string().ends_with(".tmp"));
  }
}

TEST_CASE("export::more rows than an xlsx sheet holds fail before anything is written",
          "[e2e][export]") {
  auto ws = downloaded_with(120, false);
  // The sheet made small (a test hook) so that the limit is met with few events.
  const std::map<std::string, std::string> small = {{"BDD_TEST_XLSX_MAX_ROWS", "100"}};
  for (const bool flatten : {false, true}) {
    std::vector<std::string> args = {"export", k_study, "-f", "xlsx", "-o", "big.xlsx"};
    if (flatten) {
      args.push_back("--flatten");
    }
    auto refused = ws->bdd(args, small);
    INFO(refused.err);
    CHECK(refused.exit_code == k_exit_usage);
    CHECK(contains(refused.err, "120 events"));
    CHECK(contains(refused.err, "99 rows"));
    CHECK(contains(refused.err, "--format csv"));
    CHECK_FALSE(stdfs::exists(ws->dir() / "big.xlsx"));
    for (const auto& entry : stdfs::directory_iterator(ws->dir())) {
      CHECK_FALSE(entry.path().filename().string().ends_with(".tmp"));
    }
  }
  // A filter that brings it under the limit, as the message suggests, succeeds.
  const auto events = expected_events(*ws);
  std::string user = events.front().user_id;
  auto fits = ws->bdd({"export", k_study, "-f", "xlsx", "-o", "one.xlsx", "--user", user}, small);
  INFO(fits.err);
  CHECK(fits.exit_code == k_exit_success);
  CHECK(stdfs::exists(ws->dir() / "one.xlsx"));
}

TEST_CASE("export::--pseudonymise leaves no user id anywhere and pseudonyms as HMAC says",
          "[e2e][export]") {
  auto ws = downloaded_with(300, false);
  const auto events = expected_events(*ws);
  std::set<std::string> users;
  for (const auto& event : events) {
    users.insert(event.user_id);
  }
  REQUIRE(users.size() > 10);
  bdd::test::write_text(ws->dir() / "pseudonym.key", k_secret + "\n");
  const std::vector<std::string> args = {"--pseudonymise",
                                         "--pseudonym-key-file",
                                         "pseudonym.key",
                                         "--zip",
                                         "-o",
                                         "shared.zip",
                                         "--pseudonym-map",
                                         "map.csv",
                                         "--flatten",
                                         "--json"};
  auto run = must_export(*ws, args);
  CHECK_FALSE(contains(run.out + run.err, k_secret));
  const auto pseudonymised_jsonl = [&ws](const std::string& name) {
    must_export(
        *ws,
        {"--pseudonymise", "--pseudonym-key-file", "pseudonym.key", "-f", "jsonl", "-o", name});
  };
  pseudonymised_jsonl("shared.jsonl");

  // Unzipped, every byte of the export and of the jsonl: no user id, no secret. The map has
  // every user, each with the pseudonym Python's hmac gives, and the csv's user_id column only
  // these pseudonyms.
  json users_json = json::array();
  for (const auto& user : users) {
    users_json.push_back(user);
  }
  bdd::test::write_text(ws->dir() / "users.json", users_json.dump());
  const char* const check = R"PY(
import csv, hashlib, hmac, io, json, sys, zipfile
users = json.load(open(sys.argv[1]))
secret = sys.argv[2].encode()
alias = {u: 'p_' + hmac.new(secret, u.encode(), hashlib.sha256).hexdigest()[:16] for u in users}
z = zipfile.ZipFile(sys.argv[3])
assert sorted(z.namelist()) == ['MANIFEST.json', 'shared.csv'], z.namelist()
blobs = [z.read(n) for n in z.namelist()] + [open(sys.argv[4], 'rb').read()]
for blob in blobs:
    text = blob.decode('utf-8')
    for u in users:
        assert u not in text, u
    assert sys.argv[2] not in text
with open(sys.argv[5], newline='', encoding='utf-8') as f:
    table = list(csv.reader(f))
assert table[0] == ['user_id', 'pseudonym']
assert table[1:] == sorted([u, alias[u]] for u in users), table[1:4]
rows = list(csv.reader(io.StringIO(z.read('shared.csv').decode('utf-8'), newline='')))
assert {r[1] for r in rows[1:]} == set(alias.values())
for line in open(sys.argv[4], encoding='utf-8'):
    assert json.loads(line)['user_id'] in alias.values()
print(rows[1][1])
)PY";
  auto checked = run_python(check,
                            {(ws->dir() / "users.json").string(),
                             k_secret,
                             (ws->dir() / "shared.zip").string(),
                             (ws->dir() / "shared.jsonl").string(),
                             (ws->dir() / "map.csv").string()});
  CHECK(checked.out.starts_with("p_"));

  // Stable across runs; another secret (from the environment) gives other pseudonyms.
  const std::string jsonl = read_text(ws->dir() / "shared.jsonl");
  pseudonymised_jsonl("again.jsonl");
  CHECK(read_text(ws->dir() / "again.jsonl") == jsonl);
  must_export(*ws,
              {"--pseudonymise", "-f", "jsonl", "-o", "other.jsonl"},
              {{"BDD_PSEUDONYM_KEY", "another-secret-of-enough-bytes"}});
  const std::string other = read_text(ws->dir() / "other.jsonl");
  CHECK(other != jsonl);
  CHECK_FALSE(contains(other, checked.out.substr(0, 18)));

  // The secret is written nowhere bdd writes (logs, history, state, outputs).
  for (const auto& file : ws->all_files()) {
    if (file.filename() != "pseudonym.key") {
      INFO(file);
      CHECK_FALSE(contains(read_text(file), k_secret));
    }
  }
}

TEST_CASE("export::--pseudonymise refuses to run without a secret and guards the map",
          "[e2e][export]") {
  auto ws = downloaded_with(20, false);
  auto none = ws->bdd({"export", k_study, "--pseudonymise", "-o", "x.csv"});
  CHECK(none.exit_code == k_exit_config);
  CHECK(contains(none.err, "BDD_PSEUDONYM_KEY"));
  CHECK(contains(none.err, "--pseudonym-key-file"));
  CHECK_FALSE(stdfs::exists(ws->dir() / "x.csv"));
  auto weak = ws->bdd({"export", k_study, "--pseudonymise", "-o", "x.csv"},
                      {{"BDD_PSEUDONYM_KEY", "short"}});
  CHECK(weak.exit_code == k_exit_config);
  CHECK_FALSE(contains(weak.err, "short\""));
  const std::map<std::string, std::string> key = {{"BDD_PSEUDONYM_KEY", k_secret}};
  auto same = ws->bdd(
      {"export", k_study, "--pseudonymise", "-o", "x.csv", "--pseudonym-map", "./x.csv"}, key);
  CHECK(same.exit_code == k_exit_usage);
  CHECK(contains(same.err, "--pseudonym-map"));
  auto in_study = ws->bdd({"export",
                           k_study,
                           "--pseudonymise",
                           "-o",
                           "x.csv",
                           "--pseudonym-map",
                           (ws->study_dir() / "map.csv").string()},
                          key);
  CHECK(in_study.exit_code == k_exit_usage);
  auto zip_map = ws->bdd(
      {"export", k_study, "--pseudonymise", "--zip", "-o", "x.zip", "--pseudonym-map", "x.zip"},
      key);
  CHECK(zip_map.exit_code == k_exit_usage);
  auto alone = ws->bdd({"export", k_study, "--pseudonym-map", "m.csv"});
  CHECK(alone.exit_code == k_exit_usage);
  CHECK(contains(alone.err, "needs --pseudonymise"));
  CHECK_FALSE(stdfs::exists(ws->dir() / "x.csv"));
  CHECK_FALSE(stdfs::exists(ws->dir() / "x.zip"));
}

TEST_CASE("export::--drop-field and --strip-url-query remove what they name", "[e2e][export]") {
  auto ws = downloaded_with(100, false);
  must_export(*ws,
              {"-f",
               "jsonl",
               "-o",
               "cut.jsonl",
               "--drop-field",
               "data.base.userAgent",
               "--drop-field",
               "data.data.stimulus",
               "--strip-url-query"});
  std::size_t web = 0;
  for (const auto& line : lines_of(read_text(ws->dir() / "cut.jsonl"))) {
    const json row = json::parse(line);
    const json& data = row["data"];
    if (data.contains("base")) {
      ++web;
      CHECK_FALSE(data["base"].contains("userAgent"));
      CHECK(data["base"].contains("sessionId"));
      CHECK_FALSE(data["data"].contains("stimulus"));
      CHECK(data["data"].contains("trial"));
    }
    if (row["page_url"].is_string()) {
      CHECK_FALSE(contains(row["page_url"].get<std::string>(), "?"));
    }
  }
  CHECK(web > 10);
  auto bad = ws->bdd({"export", k_study, "--drop-field", "page_url"});
  CHECK(bad.exit_code == k_exit_usage);
  CHECK(contains(bad.err, "data.base.userAgent"));
}

TEST_CASE("export::--zip holds the export and a MANIFEST.json whose hashes check",
          "[e2e][export]") {
  auto ws = downloaded_with(80, true);
  auto run = must_export(*ws, {"--zip", "--json", "--since", "2020-01-01"});
  const json summary = json::parse(run.out);
  const stdfs::path zip = ws->dir() / (std::string(k_study) + "-export.zip");
  CHECK(summary["output"] == stdfs::absolute(zip).string());
  CHECK(summary["zipped_file"] == std::string(k_study) + "-export.csv");
  must_export(*ws, {"-o", "plain.csv", "--since", "2020-01-01"});
  const char* const check = R"PY(
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
manifest = json.loads(z.read('MANIFEST.json'))
assert sorted(z.namelist()) == sorted(['MANIFEST.json'] + [f['name'] for f in manifest['files']])
for f in manifest['files']:
    data = z.read(f['name'])
    assert hashlib.sha256(data).hexdigest() == f['sha256'], f
    assert len(data) == f['bytes']
    assert data == open(sys.argv[2], 'rb').read()
print(json.dumps(manifest))
)PY";
  auto checked = run_python(check, {zip.string(), (ws->dir() / "plain.csv").string()});
  const json manifest = json::parse(checked.out);
  CHECK(manifest["study"] == k_study);
  CHECK(manifest["api_base_url"] == ws->server().base_url());
  CHECK(manifest["filters"]["since"] == "2020-01-01");
  CHECK(manifest["options"]["format"] == "csv");
  const json metadata = ws->metadata();
  CHECK(manifest["local_copy"]["events_stored"] == metadata["events_stored"]);
  CHECK(manifest["local_copy"]["remote_total"] == metadata["remote_total"]);
  CHECK(manifest["local_copy"]["last_download"] == metadata["last_update"]);
  REQUIRE(manifest["files"].size() == 1);
  CHECK(manifest["files"][0]["rows"] == summary["rows"]);
  CHECK(manifest["exported_at"].get<std::string>().ends_with("Z"));
  CHECK_FALSE(contains(checked.out, Workspace::k_key));

  // Any format can be zipped: the file inside is named after the zip.
  must_export(*ws, {"--zip", "-f", "xlsx", "-o", "book.zip"});
  auto names =
      run_python("import sys, zipfile; print(sorted(zipfile.ZipFile(sys.argv[1]).namelist()))",
                 {(ws->dir() / "book.zip").string()});
  CHECK(names.out == "['MANIFEST.json', 'book.xlsx']\n");

  // Existing zip kept without --force; the zip is named, or refused.
  auto again = ws->bdd({"export", k_study, "--zip"});
  CHECK(again.exit_code == k_exit_usage);
  auto named = ws->bdd({"export", k_study, "--zip", "-o", "data.csv"});
  CHECK(named.exit_code == k_exit_usage);
  CHECK(contains(named.err, ".zip"));
  auto piped = ws->bdd({"export", k_study, "--zip", "-o", "-"});
  CHECK(piped.exit_code == k_exit_usage);
  for (const auto& entry : stdfs::directory_iterator(ws->dir())) {
    const std::string name = entry.path().filename().string();
    CHECK_FALSE(name.ends_with(".tmp"));
    CHECK_FALSE(name.ends_with(".d"));
  }
}

TEST_CASE("export::a full disk under xlsx or --zip leaves nothing and exits 8", "[e2e][export]") {
  auto ws = downloaded_with(1500, false);
  must_export(*ws, {"-o", "whole.csv"});
  const auto size = stdfs::file_size(ws->dir() / "whole.csv");
  auto options = ws->process_options();
  // Room for a twentieth of the csv: less than the xlsx (about a seventh of it) or the zip's
  // inner csv need.
  options.limits[RLIMIT_FSIZE] = size / 20;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-f", "xlsx", "-o", "cut.xlsx"},
        std::vector<std::string>{"--zip", "-o", "cut.zip"}}) {
    std::vector<std::string> all = {"export", k_study};
    all.insert(all.end(), args.begin(), args.end());
    auto limited = bdd::test::run_bdd(all, options);
    INFO(args.back() << " with " << size / 20 << " bytes: " << limited.out << limited.err);
    CHECK(limited.exit_code == k_exit_storage);
    CHECK(contains(limited.err, "cannot"));
    CHECK(contains(limited.err, args.back()));
  }
  for (const auto& entry : stdfs::directory_iterator(ws->dir())) {
    const std::string name = entry.path().filename().string();
    CHECK_FALSE(name.starts_with("cut"));
    CHECK_FALSE(name.ends_with(".tmp"));
    CHECK_FALSE(name.ends_with(".d"));
  }
}
