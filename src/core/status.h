// Expected failures (bad input, missing file, malformed model, out of KV memory) travel as
// values: Status for "ok or error", Result<T> for "a T or an error". Exceptions never cross
// a module boundary; programmer errors use XY_CHECK (check.h) instead.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace xy {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something malformed (request, flag, token id)
  kNotFound,         // a file, tensor, key or model that should exist does not
  kIoError,          // the OS refused a read/write/mmap
  kFormatError,      // a file exists but its contents are malformed or truncated
  kUnsupported,      // well-formed but outside what xyserve implements (named in the message)
  kResourceExhausted,  // out of KV blocks, queue full, body too large
  kInternal,         // a bug surfaced as a value at a module boundary
};

const char* error_code_name(ErrorCode code);

class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "kFormatError: model.safetensors: tensor 'x' ..." — for logs and CLI stderr.
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Convenience constructors, e.g. return format_error("file.json: missing key 'x'").
inline Status invalid_argument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Status io_error(std::string m) { return {ErrorCode::kIoError, std::move(m)}; }
inline Status format_error(std::string m) { return {ErrorCode::kFormatError, std::move(m)}; }
inline Status unsupported(std::string m) { return {ErrorCode::kUnsupported, std::move(m)}; }
inline Status resource_exhausted(std::string m) {
  return {ErrorCode::kResourceExhausted, std::move(m)};
}
inline Status internal_error(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

// A T or a non-ok Status. Accessing value() of an error is a programmer error (asserts).
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).is_ok() && "Result constructed from an ok Status");
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; Status::ok() when this holds a value.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace xy

// Early-return helpers for functions returning Status or Result<U>.
#define XY_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::xy::Status xy_status_ = (expr);          \
    if (!xy_status_.is_ok()) return xy_status_; \
  } while (0)

#define XY_CONCAT_INNER(a, b) a##b
#define XY_CONCAT(a, b) XY_CONCAT_INNER(a, b)
// XY_ASSIGN_OR_RETURN(auto x, make_x()); binds x or returns the error.
#define XY_ASSIGN_OR_RETURN(decl, expr)                                   \
  auto XY_CONCAT(xy_result_, __LINE__) = (expr);                          \
  if (!XY_CONCAT(xy_result_, __LINE__).is_ok())                           \
    return XY_CONCAT(xy_result_, __LINE__).status();                      \
  decl = std::move(XY_CONCAT(xy_result_, __LINE__)).value()
