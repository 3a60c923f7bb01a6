// Result<T>: a value or an Error, for every call that can fail on the request path.
//
//   Result<Object> r = Object::from_json(doc);
//   if (!r) return errored(400, r.error().message);
//   use(*r);
//
// The accessor names are std::expected's, so moving to C++23 is one alias. Not thread-safe beyond
// what T is; a Result is a plain value.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace latticeguard {

struct Error {
  std::string message;
  // Source position when the error comes from a file (1-based; 0 = unknown).
  int line = 0;
  int column = 0;
  // JSON pointer of the offending field inside an object, when known (decoder fills line/col).
  std::string pointer = {};
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}       // NOLINT(google-explicit-constructor)
  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;

}  // namespace latticeguard
