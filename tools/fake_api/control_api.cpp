// The /_control endpoints: the HTTP twin of FakeApi's C++ API, for the standalone server and for
// tests that drive it from another process. No authentication; 127.0.0.1 only.
//
//   GET  /_control                 this list
//   GET  /_control/stats           counters (Stats as JSON)
//   POST /_control/stats/reset     zero the counters
//   GET  /_control/studies         [{"name", "total"}]
//   POST /_control/studies?name=S&key=K[&forbidden_403=1][&count=N + generator params]
//   POST /_control/key?study=S&key=K
//   POST /_control/append?study=S&count=N[&seed=&users=&days=&game_fraction=&nasty=&nasty_rate=]
//        or with a JSON array of events as the body
//   POST /_control/insert?study=S&index=I&count=N[...]  or with a JSON array body
//   POST /_control/remove?study=S&index=I&count=N
//   POST /_control/swap?study=S&first=I&first_count=N&second=J&second_count=M
//   GET  /_control/events?study=S  {"events": [every event], "total": T}
//   GET  /_control/faults          the fault configuration, counters as consumed
//   POST /_control/faults          replace it with the JSON body (Faults fields; missing = default)
//   GET  /_control/options         {"max_limit", "default_limit", "omit_total", "threads"}
//   POST /_control/options?max_limit=M&omit_total=0|1&ignore_offset=0|1
//   POST /_control/schedule?study=S&after=N&kind=K[&index=I&count=C&second=J&second_count=D]
//        [&when=after|before&fail_status=500 + generator params]   FakeApi::schedule; kind is
//        insert, remove, append, remove_and_append, reverse or swap. Or with a JSON body: one
//        object or an array of them, with the same names (study in the query). Answers
//        {"scheduled": [pending]}
//   GET  /_control/schedule        {"scheduled": [pending], "applied": [applied, oldest first]}
//   POST /_control/schedule/clear  drop pending mutations and the applied log
//
// Mutations answer {"total": T} (the study's new total); errors {"detail": ...} with 400, or 404
// for an unknown study.

#include "fake_api_impl.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>

namespace bdd::fake_api {

namespace {

using nlohmann::json;

// A bad control request; answered with 400 and the message.
class BadRequest : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A missing study; answered with 404.
class NoSuchStudy : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

std::string required_param(const httplib::Request& request, const char* name) {
  if (!request.has_param(name)) {
    throw BadRequest(std::string("missing query parameter \"") + name + "\"");
  }
  return request.get_param_value(name);
}

std::uint64_t parse_uint(const std::string& text, const char* name) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw BadRequest(std::string(name) + " must be a non-negative integer");
  }
  return value;
}

std::uint64_t uint_param(const httplib::Request& request, const char* name) {
  return parse_uint(required_param(request, name), name);
}

std::uint64_t
uint_param(const httplib::Request& request, const char* name, std::uint64_t fallback) {
  return request.has_param(name) ? uint_param(request, name) : fallback;
}

double double_param(const httplib::Request& request, const char* name, double fallback) {
  if (!request.has_param(name)) {
    return fallback;
  }
  const std::string text = request.get_param_value(name);
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) {
      return value;
    }
  } catch (const std::exception&) { // NOLINT(bugprone-empty-catch): reported below
  }
  throw BadRequest(std::string(name) + " must be a number");
}

bool bool_param(const httplib::Request& request, const char* name, bool fallback) {
  if (!request.has_param(name)) {
    return fallback;
  }
  const std::string text = request.get_param_value(name);
  if (text == "1" || text == "true" || text.empty()) {
    return true;
  }
  if (text == "0" || text == "false") {
    return false;
  }
  throw BadRequest(std::string(name) + " must be 0, 1, true or false");
}

GeneratorOptions generator_params(const httplib::Request& request) {
  GeneratorOptions options;
  options.count = static_cast<std::size_t>(uint_param(request, "count"));
  options.seed = uint_param(request, "seed", options.seed);
  options.users = static_cast<int>(uint_param(request, "users", 300));
  options.days = double_param(request, "days", options.days);
  options.game_fraction = double_param(request, "game_fraction", options.game_fraction);
  options.nasty = bool_param(request, "nasty", false);
  options.nasty_rate = double_param(request, "nasty_rate", options.nasty_rate);
  return options;
}

// Events from a JSON array body, each re-serialised compactly so a page stays one JSON text.
std::vector<std::string> events_from_body(const std::string& body) {
  const json parsed = json::parse(body);
  if (!parsed.is_array()) {
    throw BadRequest("the body must be a JSON array of events");
  }
  std::vector<std::string> events;
  events.reserve(parsed.size());
  for (const auto& event : parsed) {
    events.push_back(event.dump());
  }
  return events;
}

// clang-format off
// Faults fields by JSON name; the JSON names are the C++ names.
struct DoubleField { const char* name; double Faults::*member; };
struct IntField { const char* name; int Faults::*member; };
constexpr std::array k_double_fields = {
    DoubleField{"p_500", &Faults::p_500}, DoubleField{"p_502", &Faults::p_502},
    DoubleField{"p_503", &Faults::p_503}, DoubleField{"p_429", &Faults::p_429},
    DoubleField{"p_reset", &Faults::p_reset}, DoubleField{"p_truncate", &Faults::p_truncate},
    DoubleField{"p_invalid_json", &Faults::p_invalid_json}, DoubleField{"p_slow", &Faults::p_slow}};
constexpr std::array k_int_fields = {
    IntField{"next_500", &Faults::next_500}, IntField{"next_502", &Faults::next_502},
    IntField{"next_503", &Faults::next_503}, IntField{"next_429", &Faults::next_429},
    IntField{"next_reset", &Faults::next_reset}, IntField{"next_truncate", &Faults::next_truncate},
    IntField{"next_invalid_json", &Faults::next_invalid_json},
    IntField{"next_slow", &Faults::next_slow},
    IntField{"retry_after_seconds", &Faults::retry_after_seconds},
    IntField{"slow_ms", &Faults::slow_ms}, IntField{"latency_ms", &Faults::latency_ms},
    IntField{"next_gzip_bomb", &Faults::next_gzip_bomb},
    IntField{"next_endless_body", &Faults::next_endless_body},
    IntField{"next_malformed_status", &Faults::next_malformed_status},
    IntField{"next_no_content", &Faults::next_no_content},
    IntField{"next_echo_key", &Faults::next_echo_key},
    IntField{"gzip_bomb_mib", &Faults::gzip_bomb_mib},
    IntField{"echo_key_prefix", &Faults::echo_key_prefix},
    IntField{"echo_key_status", &Faults::echo_key_status}};
// clang-format on

json faults_to_json(const Faults& faults) {
  json out = json::object();
  for (const auto& field : k_double_fields) {
    out[field.name] = faults.*field.member;
  }
  for (const auto& field : k_int_fields) {
    out[field.name] = faults.*field.member;
  }
  out["seed"] = faults.seed;
  return out;
}

// Unknown keys are an error: a typo ("p500") silently injecting nothing would waste an afternoon.
Faults faults_from_json(const std::string& body) {
  const json parsed = body.empty() ? json::object() : json::parse(body);
  if (!parsed.is_object()) {
    throw BadRequest("the body must be a JSON object of Faults fields");
  }
  Faults faults;
  for (const auto& [name, value] : parsed.items()) {
    bool known = false;
    for (const auto& field : k_double_fields) {
      if (name == field.name) {
        faults.*field.member = value.get<double>();
        known = true;
      }
    }
    for (const auto& field : k_int_fields) {
      if (name == field.name) {
        faults.*field.member = value.get<int>();
        known = true;
      }
    }
    if (name == "seed") {
      faults.seed = value.get<std::uint64_t>();
      known = true;
    }
    if (!known) {
      throw BadRequest("unknown Faults field \"" + name + "\"");
    }
  }
  return faults;
}

json stats_to_json(const Stats& stats) {
  json out = json::object();
  out["requests"] = stats.requests;
  out["requests_per_study"] = stats.requests_per_study;
  json statuses = json::object();
  for (const auto& [status, count] : stats.responses_by_status) {
    statuses[std::to_string(status)] = count;
  }
  out["responses_by_status"] = statuses;
  json faults = json::object();
  for (std::size_t kind = 0; kind < k_fault_kind_count; ++kind) {
    faults[std::string(fault_kind_name(static_cast<FaultKind>(kind)))] = stats.faults[kind];
  }
  out["faults"] = faults;
  out["events_served"] = stats.events_served;
  out["bytes_served"] = stats.bytes_served;
  out["last_offset"] = stats.last_offset ? json(*stats.last_offset) : json(nullptr);
  out["last_limit"] = stats.last_limit ? json(*stats.last_limit) : json(nullptr);
  return out;
}

json options_to_json(const ServerOptions& options) {
  return {{"max_limit", options.max_limit},
          {"default_limit", options.default_limit},
          {"omit_total", options.omit_total},
          {"ignore_offset", options.ignore_offset},
          {"threads", options.threads}};
}

// A control parameter by name, from the query or from a JSON object: nullopt when absent.
using ParamLookup = std::function<std::optional<std::string>(const char* name)>;

// The fields of a scheduled mutation in a JSON body (the study is in the query): any other is
// an error, as for Faults.
constexpr std::array<std::string_view, 14> k_schedule_params = {"after",
                                                                "kind",
                                                                "index",
                                                                "count",
                                                                "second",
                                                                "second_count",
                                                                "when",
                                                                "fail_status",
                                                                "seed",
                                                                "users",
                                                                "days",
                                                                "game_fraction",
                                                                "nasty",
                                                                "nasty_rate"};

std::pair<std::uint64_t, Mutation> scheduled_from(const ParamLookup& param) {
  const auto uint_or = [&](const char* name, std::uint64_t fallback) {
    const auto text = param(name);
    return text ? parse_uint(*text, name) : fallback;
  };
  const auto double_or = [&](const char* name, double fallback) {
    const auto text = param(name);
    if (!text) {
      return fallback;
    }
    try {
      std::size_t used = 0;
      const double value = std::stod(*text, &used);
      if (used == text->size()) {
        return value;
      }
    } catch (const std::exception&) { // NOLINT(bugprone-empty-catch): reported below
    }
    throw BadRequest(std::string(name) + " must be a number");
  };
  const auto kind_text = param("kind");
  if (!kind_text) {
    throw BadRequest("missing parameter \"kind\"");
  }
  const auto kind = mutation_kind_from_name(*kind_text);
  if (!kind) {
    throw BadRequest("unknown mutation kind \"" + *kind_text
                     + "\" (insert, remove, append, remove_and_append, reverse, swap)");
  }
  const auto after_text = param("after");
  if (!after_text) {
    throw BadRequest("missing parameter \"after\"");
  }
  const std::uint64_t after = parse_uint(*after_text, "after");
  if (after == 0) {
    throw BadRequest("after must be 1 or more");
  }
  Mutation mutation;
  mutation.kind = *kind;
  mutation.index = static_cast<std::size_t>(uint_or("index", 0));
  const std::uint64_t default_count = *kind == MutationKind::reverse ? Mutation::npos : 1;
  mutation.count = static_cast<std::size_t>(uint_or("count", default_count));
  mutation.second = static_cast<std::size_t>(uint_or("second", 0));
  mutation.second_count = static_cast<std::size_t>(uint_or("second_count", 0));
  const std::string when = param("when").value_or("after");
  if (when != "after" && when != "before") {
    throw BadRequest("when must be after or before");
  }
  mutation.before_answer = when == "before";
  const std::uint64_t fail_status = uint_or("fail_status", 0);
  if (fail_status != 0 && (fail_status < 400 || fail_status > 599)) {
    throw BadRequest("fail_status must be 0 or an HTTP error status (400 to 599)");
  }
  mutation.fail_status = static_cast<int>(fail_status);
  GeneratorOptions& generator = mutation.generator;
  generator.seed = uint_or("seed", generator.seed);
  generator.users = static_cast<int>(uint_or("users", static_cast<std::uint64_t>(generator.users)));
  generator.days = double_or("days", generator.days);
  generator.game_fraction = double_or("game_fraction", generator.game_fraction);
  const std::string nasty = param("nasty").value_or("0");
  if (nasty != "0" && nasty != "1" && nasty != "true" && nasty != "false") {
    throw BadRequest("nasty must be 0, 1, true or false");
  }
  generator.nasty = nasty == "1" || nasty == "true";
  generator.nasty_rate = double_or("nasty_rate", generator.nasty_rate);
  return {after, mutation};
}

std::pair<std::uint64_t, Mutation> scheduled_from_query(const httplib::Request& request) {
  return scheduled_from([&request](const char* name) -> std::optional<std::string> {
    if (!request.has_param(name)) {
      return std::nullopt;
    }
    return request.get_param_value(name);
  });
}

std::pair<std::uint64_t, Mutation> scheduled_from_json(const json& object) {
  if (!object.is_object()) {
    throw BadRequest("each scheduled mutation must be a JSON object");
  }
  for (const auto& [name, value] : object.items()) {
    if (std::find(k_schedule_params.begin(), k_schedule_params.end(), name)
        == k_schedule_params.end()) {
      throw BadRequest("unknown mutation field \"" + name + "\"");
    }
  }
  return scheduled_from([&object](const char* name) -> std::optional<std::string> {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) {
      return std::nullopt;
    }
    if (it->is_string()) {
      return it->get<std::string>();
    }
    if (it->is_boolean()) {
      return it->get<bool>() ? "1" : "0";
    }
    return it->dump();
  });
}

json mutation_to_json(const Mutation& mutation) {
  json out = {{"kind", mutation_kind_name(mutation.kind)},
              {"index", mutation.index},
              {"when", mutation.before_answer ? "before" : "after"},
              {"fail_status", mutation.fail_status}};
  // npos reads better as null ("to the end") than as 18446744073709551615.
  out["count"] = mutation.count == Mutation::npos ? json(nullptr) : json(mutation.count);
  if (mutation.kind == MutationKind::swap) {
    out["second"] = mutation.second;
    out["second_count"] = mutation.second_count;
  }
  return out;
}

// Events as JSON where they parse (planted ones may not), else as their text.
json events_to_json(const std::vector<std::string>& events) {
  json out = json::array();
  for (const auto& text : events) {
    json parsed = json::parse(text, nullptr, false);
    out.push_back(parsed.is_discarded() ? json(text) : parsed);
  }
  return out;
}

json schedule_to_json(const std::vector<ScheduledMutation>& pending) {
  json out = json::array();
  for (const auto& entry : pending) {
    json item = mutation_to_json(entry.mutation);
    item["study"] = entry.study;
    item["after"] = entry.after_requests;
    item["requests_left"] = entry.requests_left;
    out.push_back(std::move(item));
  }
  return out;
}

json applied_to_json(const std::vector<AppliedMutation>& applied) {
  json out = json::array();
  for (const auto& entry : applied) {
    json item = mutation_to_json(entry.mutation);
    item["study"] = entry.study;
    item["after"] = entry.after_requests;
    item["added"] = events_to_json(entry.added);
    item["removed"] = events_to_json(entry.removed);
    item["total_after"] = entry.total_after;
    item["note"] = entry.note;
    out.push_back(std::move(item));
  }
  return out;
}

void reply(httplib::Response& response, const json& body) {
  // error_handler_t::replace: a study name with invalid UTF-8 must not make stats unprintable.
  reply_json(response, 200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

} // namespace

void FakeApi::Impl::install_control_routes(httplib::Server& routes) {
  // Every handler goes through this: control errors become 400/404 JSON, never a 500.
  const auto route = [](auto handler) {
    return [handler](const httplib::Request& request, httplib::Response& response) {
      try {
        handler(request, response);
      } catch (const NoSuchStudy& e) {
        reply_detail(response, 404, e.what());
      } catch (const std::exception& e) {
        reply_detail(response, 400, e.what());
      }
    };
  };
  const auto study_param = [this](const httplib::Request& request) {
    std::string study = required_param(request, "study");
    if (!store.contains(study)) {
      throw NoSuchStudy("Study not found");
    }
    return study;
  };
  const auto reply_total = [this](httplib::Response& response, const std::string& study) {
    reply(response, json{{"total", store.total(study)}});
  };

  routes.Get(
      "/_control", route([](const httplib::Request&, httplib::Response& response) {
        reply(response,
              json::array({"GET /_control/stats",
                           "POST /_control/stats/reset",
                           "GET /_control/studies",
                           "POST /_control/studies?name=&key=[&forbidden_403=&count=]",
                           "POST /_control/key?study=&key=",
                           "POST /_control/append?study=&count= (or JSON array body)",
                           "POST /_control/insert?study=&index=&count= (or JSON array body)",
                           "POST /_control/remove?study=&index=&count=",
                           "POST /_control/swap?study=&first=&first_count=&second=&second_count=",
                           "GET /_control/events?study=",
                           "GET|POST /_control/faults",
                           "GET|POST /_control/options?max_limit=&omit_total=&ignore_offset=",
                           "POST /_control/schedule?study=&after=&kind=[&index=&count=&second=&"
                           "second_count=&when=after|before&fail_status=] (or JSON body)",
                           "GET /_control/schedule",
                           "POST /_control/schedule/clear"}));
      }));
  routes.Get("/_control/stats", route([this](const httplib::Request&, httplib::Response& response) {
               Stats copy;
               {
                 const std::lock_guard lock(stats_mutex);
                 copy = stats;
               }
               reply(response, stats_to_json(copy));
             }));
  routes.Post("/_control/stats/reset",
              route([this](const httplib::Request&, httplib::Response& response) {
                {
                  const std::lock_guard lock(stats_mutex);
                  stats = Stats{};
                }
                reply(response, json::object());
              }));
  routes.Get("/_control/studies",
             route([this](const httplib::Request&, httplib::Response& response) {
               json out = json::array();
               for (const auto& name : store.names()) {
                 out.push_back({{"name", name}, {"total", store.total(name)}});
               }
               reply(response, out);
             }));
  routes.Post(
      "/_control/studies",
      route([this, reply_total](const httplib::Request& request, httplib::Response& response) {
        StudyOptions study;
        study.name = required_param(request, "name");
        study.key = required_param(request, "key");
        study.forbidden_status_403 = bool_param(request, "forbidden_403", false);
        store.add(study);
        if (request.has_param("count")) {
          append_generated(study.name, generator_params(request));
        }
        reply_total(response, study.name);
      }));
  routes.Post(
      "/_control/key",
      route([this, study_param](const httplib::Request& request, httplib::Response& response) {
        store.set_key(study_param(request), required_param(request, "key"));
        reply(response, json::object());
      }));
  routes.Post("/_control/append",
              route([this, study_param, reply_total](const httplib::Request& request,
                                                     httplib::Response& response) {
                const std::string study = study_param(request);
                if (request.has_param("count")) {
                  append_generated(study, generator_params(request));
                } else {
                  store.append(study, events_from_body(request.body));
                }
                reply_total(response, study);
              }));
  routes.Post("/_control/insert",
              route([this, study_param, reply_total](const httplib::Request& request,
                                                     httplib::Response& response) {
                const std::string study = study_param(request);
                const auto index = static_cast<std::size_t>(uint_param(request, "index"));
                if (request.has_param("count")) {
                  insert_generated(study, index, generator_params(request));
                } else {
                  store.insert(study, index, events_from_body(request.body));
                }
                reply_total(response, study);
              }));
  routes.Post("/_control/remove",
              route([this, study_param, reply_total](const httplib::Request& request,
                                                     httplib::Response& response) {
                const std::string study = study_param(request);
                store.remove(study,
                             static_cast<std::size_t>(uint_param(request, "index")),
                             static_cast<std::size_t>(uint_param(request, "count")));
                reply_total(response, study);
              }));
  routes.Post("/_control/swap",
              route([this, study_param, reply_total](const httplib::Request& request,
                                                     httplib::Response& response) {
                const std::string study = study_param(request);
                store.swap_ranges(study,
                                  static_cast<std::size_t>(uint_param(request, "first")),
                                  static_cast<std::size_t>(uint_param(request, "first_count")),
                                  static_cast<std::size_t>(uint_param(request, "second")),
                                  static_cast<std::size_t>(uint_param(request, "second_count")));
                reply_total(response, study);
              }));
  routes.Get(
      "/_control/events",
      route([this, study_param](const httplib::Request& request, httplib::Response& response) {
        const std::string study = study_param(request);
        // Rendered like a page so the events come back byte for byte as served.
        auto page = store.render_page(study, 0, static_cast<std::size_t>(-1), true);
        reply_json(response, 200, std::move(page.value().body));
      }));
  routes.Get("/_control/faults",
             route([this](const httplib::Request&, httplib::Response& response) {
               reply(response, faults_to_json(faults.current()));
             }));
  routes.Post("/_control/faults",
              route([this](const httplib::Request& request, httplib::Response& response) {
                faults.configure(faults_from_json(request.body));
                reply(response, faults_to_json(faults.current()));
              }));
  const auto options_handler = [this](const httplib::Request& request,
                                      httplib::Response& response) {
    if (request.method == "POST") {
      if (request.has_param("max_limit")) {
        max_limit = std::max<std::size_t>(uint_param(request, "max_limit"), 1);
      }
      omit_total = bool_param(request, "omit_total", omit_total);
      ignore_offset = bool_param(request, "ignore_offset", ignore_offset);
    }
    reply(response, options_to_json(options()));
  };
  routes.Get("/_control/options", route(options_handler));
  routes.Post("/_control/options", route(options_handler));
  routes.Post(
      "/_control/schedule",
      route([this, study_param](const httplib::Request& request, httplib::Response& response) {
        const std::string study = study_param(request);
        std::vector<std::pair<std::uint64_t, Mutation>> entries;
        if (request.body.empty()) {
          entries.push_back(scheduled_from_query(request));
        } else {
          const json parsed = json::parse(request.body);
          for (const auto& object : parsed.is_array() ? parsed : json::array({parsed})) {
            entries.push_back(scheduled_from_json(object));
          }
        }
        // All checked before any is scheduled: a bad entry schedules nothing.
        for (auto& [after, mutation] : entries) {
          mutations.add(study, after, std::move(mutation));
        }
        std::vector<ScheduledMutation> pending = mutations.pending();
        std::erase_if(pending,
                      [&](const ScheduledMutation& entry) { return entry.study != study; });
        reply(response, json{{"scheduled", schedule_to_json(pending)}});
      }));
  routes.Get("/_control/schedule",
             route([this](const httplib::Request&, httplib::Response& response) {
               reply(response,
                     json{{"scheduled", schedule_to_json(mutations.pending())},
                          {"applied", applied_to_json(mutations.applied())}});
             }));
  routes.Post("/_control/schedule/clear",
              route([this](const httplib::Request&, httplib::Response& response) {
                mutations.clear();
                reply(response, json::object());
              }));
}

} // namespace bdd::fake_api
