// Errors at the public API: NetworkResult<T> holds a value or a NetworkError.
// Nothing throws across the API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace datafold::net {

// What went wrong, from the caller's point of view (fold_db's kinds, plus ResourceExhausted).
enum class ErrorKind {
  Connection,
  Discovery,
  Message,
  Authentication,
  Trust,
  Config,
  Timeout,
  Protocol,
  ResourceExhausted,
};

// The wire error codes (fold_db's numbers, then ours). `None` is never sent:
// it marks local errors that have no wire code.
enum class ErrorCode : std::uint32_t {
  None = 0,
  InvalidMessage = 1000,
  AuthenticationFailed = 1001,
  TrustValidationFailed = 1002,
  SchemaNotFound = 1003,
  PermissionDenied = 1004,
  QueryFailed = 1005,
  InternalError = 1006,
  ProtocolError = 1007,
  Timeout = 1008,
  UnsupportedVersion = 1009,
  ResourceExhausted = 1010,
  UnsupportedMessage = 1011,
  InvalidDsl = 1012,
};

std::string_view to_string(ErrorKind kind) noexcept;
std::string_view to_string(ErrorCode code) noexcept;

// The kind a caller sees when a peer answers with this wire code.
ErrorKind kind_for_remote_code(ErrorCode code) noexcept;

// std::error_code category for ErrorCode, used inside the asynchronous code.
const std::error_category& wire_error_category() noexcept;
inline std::error_code make_error_code(ErrorCode code) noexcept {
  return {static_cast<int>(code), wire_error_category()};
}

struct NetworkError {
  ErrorKind kind = ErrorKind::Connection;
  ErrorCode code = ErrorCode::None;
  std::string message;

  // "Timeout (1008): request timed out after 30000 ms"
  std::string to_string() const;
};

NetworkError make_error(ErrorKind kind, std::string message, ErrorCode code = ErrorCode::None);

// A value or a NetworkError. Check with ok() (or operator bool) before value().
template <class T>
class [[nodiscard]] NetworkResult {
 public:
  // Implicit by design. Two overloads rather than one by value: a value moved in is
  // moved once, not into a parameter and then again into the result.
  NetworkResult(const T& value) : state_(std::in_place_index<0>, value) {}        // NOLINT
  NetworkResult(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  NetworkResult(NetworkError error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const NetworkError& error() const& { return std::get<1>(state_); }
  NetworkError&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, NetworkError> state_;
};

template <>
class [[nodiscard]] NetworkResult<void> {
 public:
  NetworkResult() = default;
  NetworkResult(NetworkError error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const NetworkError& error() const& { return error_; }
  NetworkError&& error() && { return std::move(error_); }

 private:
  NetworkError error_;
  bool failed_ = false;
};

}  // namespace datafold::net

template <>
struct std::is_error_code_enum<datafold::net::ErrorCode> : std::true_type {};
