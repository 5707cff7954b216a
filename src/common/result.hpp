#pragma once
// Result<T>: a value or an Error. Expected outcomes (sold out, conflict, bad input) travel as
// values; exceptions are kept for start-up failures and true faults.

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "common/errc.hpp"

namespace tacos {

struct Error {
  Errc code = Errc::internal;
  std::string message;
  std::string field;  // the offending input field, when there is one

  Error() = default;
  Error(Errc c, std::string msg, std::string f = {}) : code(c), message(std::move(msg)), field(std::move(f)) {}
};

/// Thrown when something the request depends on (the store) cannot answer now: servers answer
/// 503 with Retry-After, never 500, and the caller may try again.
class UnavailableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// Result of an operation with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

/// How an asynchronous call answers (the interfaces between roles): exactly once, from any thread.
template <typename T>
using Done = std::function<void(Result<T>)>;
using DoneStatus = std::function<void(Status)>;

}  // namespace tacos
