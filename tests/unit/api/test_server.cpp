#include "test_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

namespace bdd::test {

namespace {

std::optional<std::uint64_t> query_number(const httplib::Request& request, const char* name) {
  if (!request.has_param(name)) {
    return std::nullopt;
  }
  const std::string value = request.get_param_value(name);
  if (value.empty()
      || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(value);
}

void send_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

} // namespace

Fault Fault::http(int status, std::string body, std::optional<std::string> retry_after) {
  Fault fault;
  fault.kind = Kind::status;
  fault.status = status;
  fault.body = std::move(body);
  fault.retry_after = std::move(retry_after);
  return fault;
}

Fault Fault::invalid_json() {
  Fault fault;
  fault.kind = Kind::invalid_json;
  return fault;
}

Fault Fault::truncated() {
  Fault fault;
  fault.kind = Kind::truncated;
  return fault;
}

Fault Fault::delayed(std::chrono::milliseconds delay) {
  Fault fault;
  fault.kind = Kind::delay;
  fault.delay = delay;
  return fault;
}

Fault Fault::empty_page() {
  Fault fault;
  fault.kind = Kind::empty_page;
  return fault;
}

TestServer::TestServer(std::size_t event_count)
    : m_server(std::make_unique<httplib::Server>()),
      m_event_count(event_count) {
  // Every keep-alive connection holds a server thread; tests open up to 8 at once, and more when
  // clients reconnect after a timeout.
  m_server->new_task_queue = [] { return new httplib::ThreadPool(48); };
  m_server->set_keep_alive_max_count(100'000);
  // Without TCP_NODELAY (which accepted sockets inherit) Nagle's algorithm and delayed ACKs add
  // 40 ms to every response.
  m_server->set_socket_options([](socket_t sock) {
    httplib::default_socket_options(sock);
    int yes = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  m_server->Get(R"(/v1/studies/([^/]+)/events)",
                [this](const httplib::Request& request, httplib::Response& response) {
                  handle(request, response);
                });
  m_port = m_server->bind_to_any_port("127.0.0.1");
  // bind_to_any_port() already listens: connections queue until the accept loop runs.
  m_thread = std::thread([this] { m_server->listen_after_bind(); });
  // stop() does nothing until the accept loop runs, so a quick destructor would hang.
  while (!m_server->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

TestServer::~TestServer() {
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_stopping_cv.notify_all();
  m_server->stop();
  m_thread.join();
}

std::string TestServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(m_port);
}

nlohmann::json TestServer::event(std::size_t index) {
  // Alternate the two shapes of the spec.
  if (index % 2 == 0) {
    return {{"id", "e" + std::to_string(index)},
            {"stored", "2025-11-18T10:00:00.000Z"},
            {"timestamp", "2025-11-18T10:00:00.000Z"},
            {"types", {"click"}},
            {"base", {{"userId", "user_A"}, {"index", index}}}};
  }
  return {{"id", "e" + std::to_string(index)},
          {"stored", "2025-11-18T10:05:00.000Z"},
          {"types", {"TrialEnded"}},
          {"object", {{"userId", "P-007"}, {"index", index}, {"tsGenerated", "x"}}}};
}

void TestServer::set_event_count(std::size_t count) {
  const std::lock_guard lock(m_mutex);
  m_event_count = count;
}

void TestServer::set_limit_cap(std::optional<std::uint64_t> cap) {
  const std::lock_guard lock(m_mutex);
  m_cap = cap;
}

void TestServer::set_send_total(bool send) {
  const std::lock_guard lock(m_mutex);
  m_send_total = send;
}

void TestServer::set_growth(std::size_t per_request, std::size_t max_appended) {
  const std::lock_guard lock(m_mutex);
  m_growth_per_request = per_request;
  m_growth_left = max_appended;
}

void TestServer::push_fault(Fault fault) {
  const std::lock_guard lock(m_mutex);
  m_faults.push_back(std::move(fault));
}

void TestServer::set_always(std::optional<Fault> fault) {
  const std::lock_guard lock(m_mutex);
  m_always = std::move(fault);
}

std::size_t TestServer::request_count() const {
  const std::lock_guard lock(m_mutex);
  return m_requests.size();
}

std::vector<RequestLog> TestServer::requests() const {
  const std::lock_guard lock(m_mutex);
  return m_requests;
}

std::size_t TestServer::event_count() const {
  const std::lock_guard lock(m_mutex);
  return m_event_count;
}

void TestServer::sleep_for(std::chrono::milliseconds delay) {
  std::unique_lock lock(m_mutex);
  m_stopping_cv.wait_for(lock, delay, [this] { return m_stopping; });
}

void TestServer::handle(const httplib::Request& request, httplib::Response& response) {
  RequestLog log;
  log.target = request.target;
  log.offset = query_number(request, "offset");
  log.limit = query_number(request, "limit");
  log.authorization = request.get_header_value("Authorization");
  log.user_agent = request.get_header_value("User-Agent");
  log.accept = request.get_header_value("Accept");
  log.accept_encoding = request.get_header_value("Accept-Encoding");
  log.remote_port = request.remote_port;

  std::optional<Fault> fault;
  {
    const std::lock_guard lock(m_mutex);
    m_requests.push_back(log);
    if (!m_faults.empty()) {
      fault = std::move(m_faults.front());
      m_faults.pop_front();
    } else {
      fault = m_always;
    }
  }

  if (fault && fault->kind == Fault::Kind::delay) {
    sleep_for(fault->delay);
    fault.reset();
  }
  if (fault && fault->kind == Fault::Kind::status) {
    response.status = fault->status;
    if (fault->retry_after) {
      response.set_header("Retry-After", *fault->retry_after);
    }
    response.set_content(fault->body, "application/json");
    return;
  }
  if (fault && fault->kind == Fault::Kind::invalid_json) {
    response.set_content(R"({"total": 3, "events": [{"id": "a"}, )", "application/json");
    return;
  }

  if (log.authorization != std::string("Bearer ") + k_key) {
    // Echo the key, as a careless server might: the client must redact it.
    send_json(response, 401, {{"detail", "Not authenticated"}, {"echo", log.authorization}});
    return;
  }
  if (request.matches[1] != k_study) {
    send_json(response, 404, {{"detail", "Study not found"}});
    return;
  }
  if (!log.offset || !log.limit || *log.limit == 0) {
    send_json(response, 422, {{"detail", "offset and limit must be integers"}});
    return;
  }

  nlohmann::json body;
  {
    const std::lock_guard lock(m_mutex);
    const std::uint64_t total = m_event_count;
    const std::uint64_t limit = m_cap ? std::min(*log.limit, *m_cap) : *log.limit;
    const std::uint64_t begin = std::min(*log.offset, total);
    const std::uint64_t end =
        fault && fault->kind == Fault::Kind::empty_page ? begin : std::min(total, begin + limit);
    body["events"] = nlohmann::json::array();
    for (std::uint64_t i = begin; i < end; ++i) {
      body["events"].push_back(event(i));
    }
    if (m_send_total) {
      body["total"] = total;
    }
    body["extra"] = "ignored";
    const std::size_t grow = std::min(m_growth_per_request, m_growth_left);
    m_event_count += grow;
    m_growth_left -= grow;
  }

  if (fault && fault->kind == Fault::Kind::truncated) {
    auto text = std::make_shared<std::string>(body.dump());
    response.set_content_provider(
        text->size(),
        "application/json",
        [text](std::size_t offset, std::size_t, httplib::DataSink& sink) {
          if (offset == 0) {
            sink.write(text->data(), text->size() / 2);
            return true;
          }
          return false; // the connection is closed with the body half sent
        });
    return;
  }
  send_json(response, 200, body);
}

} // namespace bdd::test
