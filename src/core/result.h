#ifndef MAMORI_CORE_RESULT_H_
#define MAMORI_CORE_RESULT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace mamori {

// An expected failure: `code` is the snake_case word the API returns
// (`invalid_ip`, `missing_field`, `not_found`, ...), `message` is for people.
// `retry_after_s` > 0: the failure is temporary and ends in that many
// seconds (the HTTP API's Retry-After).
struct Error {
  std::string code;
  std::string message;
  std::int64_t retry_after_s = 0;
};

// Either a value or an Error. A small stand-in for std::expected (C++23).
// Accessing the wrong alternative is a programming error (std::bad_variant_access).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result of an operation with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

}  // namespace mamori

#endif  // MAMORI_CORE_RESULT_H_
