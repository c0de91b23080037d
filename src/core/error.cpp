#include "datafold/net/error.hpp"

#include <string>

namespace datafold::net {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::Connection: return "Connection";
    case ErrorKind::Discovery: return "Discovery";
    case ErrorKind::Message: return "Message";
    case ErrorKind::Authentication: return "Authentication";
    case ErrorKind::Trust: return "Trust";
    case ErrorKind::Config: return "Config";
    case ErrorKind::Timeout: return "Timeout";
    case ErrorKind::Protocol: return "Protocol";
    case ErrorKind::ResourceExhausted: return "ResourceExhausted";
  }
  return "Unknown";
}

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::None: return "None";
    case ErrorCode::InvalidMessage: return "InvalidMessage";
    case ErrorCode::AuthenticationFailed: return "AuthenticationFailed";
    case ErrorCode::TrustValidationFailed: return "TrustValidationFailed";
    case ErrorCode::SchemaNotFound: return "SchemaNotFound";
    case ErrorCode::PermissionDenied: return "PermissionDenied";
    case ErrorCode::QueryFailed: return "QueryFailed";
    case ErrorCode::InternalError: return "InternalError";
    case ErrorCode::ProtocolError: return "ProtocolError";
    case ErrorCode::Timeout: return "Timeout";
    case ErrorCode::UnsupportedVersion: return "UnsupportedVersion";
    case ErrorCode::ResourceExhausted: return "ResourceExhausted";
    case ErrorCode::UnsupportedMessage: return "UnsupportedMessage";
    case ErrorCode::InvalidDsl: return "InvalidDsl";
  }
  return "Unknown";
}

ErrorKind kind_for_remote_code(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::AuthenticationFailed: return ErrorKind::Authentication;
    case ErrorCode::TrustValidationFailed:
    case ErrorCode::PermissionDenied: return ErrorKind::Trust;
    case ErrorCode::Timeout: return ErrorKind::Timeout;
    case ErrorCode::ResourceExhausted: return ErrorKind::ResourceExhausted;
    case ErrorCode::ProtocolError:
    case ErrorCode::UnsupportedVersion:
    case ErrorCode::UnsupportedMessage: return ErrorKind::Protocol;
    case ErrorCode::None:
    case ErrorCode::InvalidMessage:
    case ErrorCode::SchemaNotFound:
    case ErrorCode::InvalidDsl:
    case ErrorCode::QueryFailed:
    case ErrorCode::InternalError: return ErrorKind::Message;
  }
  return ErrorKind::Message;
}

namespace {
class WireErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "datafold.wire"; }
  std::string message(int value) const override {
    return std::string(to_string(static_cast<ErrorCode>(value)));
  }
};
}  // namespace

const std::error_category& wire_error_category() noexcept {
  static const WireErrorCategory category;
  return category;
}

std::string NetworkError::to_string() const {
  std::string out(net::to_string(kind));
  if (code != ErrorCode::None) {
    out += " (";
    out += net::to_string(code);
    out += ' ';
    out += std::to_string(static_cast<std::uint32_t>(code));
    out += ')';
  }
  out += ": ";
  out += message;
  return out;
}

NetworkError make_error(ErrorKind kind, std::string message, ErrorCode code) {
  return NetworkError{kind, code, std::move(message)};
}

}  // namespace datafold::net
