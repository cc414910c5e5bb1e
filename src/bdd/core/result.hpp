#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bdd {

// What kind of failure an `Error` is. The CLI maps each to an exit code (see cli/exit_codes.hpp),
// so pick the one a script reading the exit code would need to tell apart.
enum class Errc {
  usage,       // bad command line (unknown flag, invalid study name)
  config,      // invalid or missing configuration, no API key
  auth,        // HTTP 401/403: key missing, wrong or revoked
  not_found,   // HTTP 404: unknown study (or no access)
  bad_request, // HTTP 400/422: the server rejected our parameters
  network,     // transport failure or 5xx/429 that outlived every retry
  protocol,    // the server answered 200 with a body bdd cannot use, after every retry
  storage,     // local files: disk full, permissions, corrupt local data
  interrupted, // SIGINT/SIGTERM: stopped cleanly after the last commit
  locked,      // another bdd holds the study's lock
  internal,    // a bug in bdd
  // `download --strict`: the server sent items that are not usable events (quarantined; every
  // other event was stored)
  unusable_data,
};

// The lower-case name of `code` ("usage", "not_found", ...), as scripts see it in --json output
// and in the public API.
constexpr const char* errc_name(Errc code) {
  switch (code) {
  case Errc::usage:
    return "usage";
  case Errc::config:
    return "config";
  case Errc::auth:
    return "auth";
  case Errc::not_found:
    return "not_found";
  case Errc::bad_request:
    return "bad_request";
  case Errc::network:
    return "network";
  case Errc::protocol:
    return "protocol";
  case Errc::storage:
    return "storage";
  case Errc::interrupted:
    return "interrupted";
  case Errc::locked:
    return "locked";
  case Errc::internal:
    return "internal";
  case Errc::unusable_data:
    return "unusable_data";
  }
  return "internal";
}

// A failure phrased for the user: lower case, the subject quoted, no trailing period. The CLI
// prints it once as "bdd: error: <message>". It never contains a secret.
struct Error {
  Error(Errc error_code, std::string text) : code(error_code), message(std::move(text)) {}
  Errc code;
  std::string message;
  bool retryable = false;                               // a retry of the same request may succeed
  std::optional<std::chrono::milliseconds> retry_after; // server-requested wait (429 Retry-After)
};

// Value-or-Error, a small subset of C++23 std::expected.
template <typename T>
class [[nodiscard]] Result {
public:
  Result(T value) : m_data(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_data(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const noexcept { return m_data.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(m_data); }
  const T& value() const& { return std::get<0>(m_data); }
  T&& value() && { return std::get<0>(std::move(m_data)); }
  const Error& error() const& { return std::get<1>(m_data); }
  Error&& error() && { return std::get<1>(std::move(m_data)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, Error> m_data;
};

template <>
class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)) {}

  bool has_value() const noexcept { return !m_error.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  const Error& error() const& { return *m_error; }
  Error&& error() && { return std::move(*m_error); }

private:
  std::optional<Error> m_error;
};

// Shorthand for the success value of a Result<void>.
inline Result<void> ok() {
  return {};
}

} // namespace bdd

// Evaluate `expr` (a Result); on failure return its Error from the enclosing function.
#define BDD_TRY(expr)                                                                              \
  do {                                                                                             \
    if (auto bdd_try_result_ = (expr); !bdd_try_result_) {                                         \
      return std::move(bdd_try_result_).error();                                                   \
    }                                                                                              \
  } while (false)

// Evaluate `expr` (a Result<T>) and move its value into `decl`, or return its Error.
// NOLINTBEGIN(bugprone-macro-parentheses): `decl` is a declaration and `tmp` a name, which
// parentheses would break.
#define BDD_TRY_ASSIGN(decl, expr) BDD_TRY_ASSIGN_IMPL(decl, expr, BDD_CONCAT(bdd_tmp_, __LINE__))
#define BDD_CONCAT_INNER(a, b) a##b
#define BDD_CONCAT(a, b) BDD_CONCAT_INNER(a, b)
#define BDD_TRY_ASSIGN_IMPL(decl, expr, tmp)                                                       \
  auto tmp = (expr);                                                                               \
  if (!tmp) {                                                                                      \
    return std::move(tmp).error();                                                                 \
  }                                                                                                \
  decl = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
