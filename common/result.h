// Result<T>: the value of a call that can fail for expected reasons (bad input, refused policy, a
// peer's error), or the Error saying why. Bugs are asserts, not Results.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace relay::common {

// A stable, machine-readable `code` (snake_case; the API maps it to HTTP) and a message for humans.
struct Error {
  std::string code;
  std::string message;

  bool operator==(const Error&) const = default;
};

inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// Success carries nothing; used where a call only needs to say "done" or "refused, because".
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(failed_);
    return error_;
  }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace relay::common

// Propagates an error from an expression returning Result<...>; evaluates to nothing on success.
#define RELAY_TRY_STATUS(expr)                                     \
  do {                                                             \
    auto relay_try_result_ = (expr);                               \
    if (!relay_try_result_.ok()) return relay_try_result_.error(); \
  } while (0)

#define RELAY_CONCAT_INNER(a, b) a##b
#define RELAY_CONCAT(a, b) RELAY_CONCAT_INNER(a, b)
// `RELAY_ASSIGN_OR_RETURN(auto x, f());` binds the value of a successful Result or returns its
// error.
#define RELAY_ASSIGN_OR_RETURN(decl, expr) \
  RELAY_ASSIGN_OR_RETURN_IMPL(RELAY_CONCAT(relay_result_, __LINE__), decl, expr)
#define RELAY_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  decl = std::move(tmp).value()
