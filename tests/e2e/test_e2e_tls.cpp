// End-to-end: TLS verification. Against the fake API served over HTTPS with a self-signed
// certificate, bdd refuses the connection by default (exit 6, one line naming the certificate
// problem, the key never printed) and downloads exactly when `api.verify_tls` is false, warning
// on every run that the certificate is not checked.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <string>
#include <vector>

namespace {

using bdd::test::check_exact_copy;
using bdd::test::check_secret_absent_from_files;
using bdd::test::contains;
using bdd::test::line_count;
using bdd::test::ProcessOptions;
using bdd::test::ProcessResult;
using bdd::test::run_process;
using bdd::test::TempDir;
using bdd::test::Workspace;
using nlohmann::json;

using enum bdd::cli::ExitCode;
constexpr const char* k_unverified_warning = "api.verify_tls is false";

// A self-signed certificate for 127.0.0.1 and its key, made with the openssl command-line tool
// in a private directory.
class SelfSignedCertificate {
public:
  SelfSignedCertificate() {
    ProcessOptions options;
    options.cwd = m_dir.path();
    // An EC key: generated in milliseconds, unlike RSA.
    const ProcessResult made = run_process("/usr/bin/env",
                                           {"openssl",
                                            "req",
                                            "-x509",
                                            "-newkey",
                                            "ec",
                                            "-pkeyopt",
                                            "ec_paramgen_curve:prime256v1",
                                            "-nodes",
                                            "-keyout",
                                            "key.pem",
                                            "-out",
                                            "cert.pem",
                                            "-days",
                                            "2",
                                            "-subj",
                                            "/CN=127.0.0.1",
                                            "-addext",
                                            "subjectAltName=IP:127.0.0.1"},
                                           options);
    INFO("openssl stdout: " << made.out << "\nstderr: " << made.err);
    // No openssl, no test: fail loudly (scripts/install-deps.sh installs it).
    REQUIRE(made.exit_code == 0);
  }

  bdd::fake_api::ServerOptions server_options() const {
    bdd::fake_api::ServerOptions options;
    options.tls_certificate = (m_dir.path() / "cert.pem").string();
    options.tls_private_key = (m_dir.path() / "key.pem").string();
    return options;
  }

private:
  TempDir m_dir;
};

void check_no_key(const ProcessResult& run) {
  CHECK_FALSE(contains(run.out, Workspace::k_key));
  CHECK_FALSE(contains(run.err, Workspace::k_key));
}

} // namespace

TEST_CASE("tls::a self-signed certificate is refused by default with exit 6", "[e2e][tls]") {
  SelfSignedCertificate certificate;
  Workspace ws(json::object(), certificate.server_options());
  REQUIRE(ws.server().base_url().rfind("https://127.0.0.1:", 0) == 0);
  ws.add_events(120);

  auto connection = ws.bdd({"test-connection", Workspace::k_study});
  INFO("test-connection stdout: " << connection.out << "\nstderr: " << connection.err);
  CHECK(connection.exit_code == k_exit_network);
  CHECK(contains(connection.out + connection.err, "TLS certificate cannot be verified"));
  CHECK_FALSE(contains(connection.err, k_unverified_warning));
  check_no_key(connection);

  auto download = ws.bdd({"download", Workspace::k_study});
  INFO("download stdout: " << download.out << "\nstderr: " << download.err);
  CHECK(download.exit_code == k_exit_network);
  CHECK(download.err.rfind("bdd: error: ", 0) == 0);
  CHECK(line_count(download.err) == 1);
  CHECK(contains(download.err, "TLS certificate cannot be verified"));
  // libcurl's own words say what was wrong with it.
  CHECK(contains(download.err, "certificate"));
  CHECK_FALSE(contains(download.out + download.err, "no new events"));
  check_no_key(download);
  // A certificate does not get better by asking again: one attempt per connection.
  CHECK(ws.server().request_count() == 0);
  CHECK(ws.stored_ids().empty());
  const json history = ws.history();
  REQUIRE(history.size() == 1);
  CHECK(history[0]["status"] == "failed");
  CHECK(contains(history[0]["error"].get<std::string>(), "TLS certificate"));
  check_secret_absent_from_files(ws.dir(), Workspace::k_key);
}

TEST_CASE("tls::verify_tls false downloads over a self-signed certificate and warns",
          "[e2e][tls]") {
  SelfSignedCertificate certificate;
  Workspace ws(json{{"api", {{"verify_tls", false}}}}, certificate.server_options());
  ws.add_events(250);

  auto connection = ws.bdd({"test-connection", Workspace::k_study});
  INFO("test-connection stdout: " << connection.out << "\nstderr: " << connection.err);
  CHECK(connection.exit_code == 0);
  CHECK(contains(connection.out, "250"));
  CHECK(contains(connection.err, "bdd: warning: "));
  CHECK(contains(connection.err, k_unverified_warning));
  check_no_key(connection);

  auto download = ws.bdd({"download", Workspace::k_study});
  INFO("download stdout: " << download.out << "\nstderr: " << download.err);
  REQUIRE(download.exit_code == 0);
  check_exact_copy(ws);
  CHECK(ws.server().request_count() >= 3);
  check_no_key(download);
  // Once per run, not once per request.
  std::size_t warnings = 0;
  for (std::size_t at = download.err.find(k_unverified_warning); at != std::string::npos;
       at = download.err.find(k_unverified_warning, at + 1)) {
    ++warnings;
  }
  CHECK(warnings == 1);

  // Scripts see it too, in the --json summary's warnings.
  ws.add_events(30);
  auto scripted = ws.bdd({"download", Workspace::k_study, "--json"});
  INFO("download --json stdout: " << scripted.out << "\nstderr: " << scripted.err);
  REQUIRE(scripted.exit_code == 0);
  const json summary = json::parse(scripted.out);
  CHECK(summary["events_added"] == 30);
  REQUIRE(summary["warnings"].is_array());
  bool listed = false;
  for (const auto& warning : summary["warnings"]) {
    listed = listed || contains(warning.get<std::string>(), k_unverified_warning);
  }
  CHECK(listed);
  check_exact_copy(ws);

  // Commands that send no key have nothing to warn about.
  auto status = ws.bdd({"status", Workspace::k_study});
  CHECK(status.exit_code == 0);
  CHECK_FALSE(contains(status.err, k_unverified_warning));
  check_secret_absent_from_files(ws.dir(), Workspace::k_key);
}
