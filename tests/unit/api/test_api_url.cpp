#include <bdd/api/url.hpp>

#include <catch2/catch.hpp>

using namespace bdd::api;

TEST_CASE("api::percent_encode_segment keeps only unreserved characters", "[api]") {
  CHECK(percent_encode_segment("demo") == "demo");
  CHECK(percent_encode_segment("A-z_0.9~") == "A-z_0.9~");
  CHECK(percent_encode_segment("my study/1?#%") == "my%20study%2F1%3F%23%25");
  CHECK(percent_encode_segment("\xC3\xA9") == "%C3%A9");
  CHECK(percent_encode_segment("..") == "..");
  CHECK(percent_encode_segment("") == "");
}

TEST_CASE("api::events_url builds the one endpoint", "[api]") {
  CHECK(events_url("https://api.behaverse.org", "demo", 0, 1000)
        == "https://api.behaverse.org/v1/studies/demo/events?offset=0&limit=1000");
  CHECK(events_url("http://127.0.0.1:8080/", "a b", 2000, 7)
        == "http://127.0.0.1:8080/v1/studies/a%20b/events?offset=2000&limit=7");
  CHECK(events_url("http://h/base//", "x", 1, 2)
        == "http://h/base/v1/studies/x/events?offset=1&limit=2");
}
