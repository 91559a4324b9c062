// Status and Result<T>: how errors travel between renderq's modules.
//
// Modules never throw across their boundaries; they return a Status (or a
// Result<T> carrying a value or a Status). Exceptions are caught at the request
// and job boundaries only (the FastCGI loop, the worker's job loop, main()).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace renderq {

// Broad classes of failure; callers branch on the code, humans read the message.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong; retrying will not help
  kNotFound,           // no such object (or not visible to this caller)
  kConflict,           // the object's state forbids the operation
  kResourceExhausted,  // a limit (queue depth, quota) was reached
  kUnavailable,        // storage busy, I/O error, disk full: may succeed later
  kDeviceFault,        // the GPU failed (lost, out of memory, driver error)
  kCancelled,          // stopped on request
  kInternal,           // a bug: an invariant did not hold
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DeviceFault(std::string m) { return {StatusCode::kDeviceFault, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "unavailable: database is locked" — for logs and error details.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace renderq

#define RENDERQ_CONCAT_INNER(a, b) a##b
#define RENDERQ_CONCAT(a, b) RENDERQ_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function unless it is OK. (A name of
// its own per use, so one may sit inside a lambda passed to another.)
#define RETURN_IF_ERROR(expr) \
  RETURN_IF_ERROR_IMPL(RENDERQ_CONCAT(renderq_status_, __COUNTER__), expr)
#define RETURN_IF_ERROR_IMPL(status, expr) \
  do {                                     \
    ::renderq::Status status = (expr);     \
    if (!status.ok()) return status;       \
  } while (0)

// ASSIGN_OR_RETURN(auto x, Fn()): binds the value or returns the Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(RENDERQ_CONCAT(renderq_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
