// Helpers shared by the files that make up TlsConnection (tls_connection.cpp,
// tls_handshake.cpp, tls_health.cpp). Private to src/transport.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include "datafold/net/error.hpp"
#include "transport/tls_records.hpp"

namespace datafold::net::detail {

// Bytes asked of TLS per read: a whole record's content must fit (TlsSocket::read_some).
inline constexpr std::size_t kReadChunkBytes = 16 * 1024;
// The frames of one read answered before the replies made so far are written
// (TlsConnection::read_loop).
inline constexpr std::size_t kFramesPerSlice = 16;
static_assert(kReadChunkBytes >= kTlsMaxPlaintext);

inline NetworkError connection_error(const std::string& what, const std::error_code& ec) {
  return make_error(ErrorKind::Connection, what + ": " + ec.message());
}

inline std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

template <class Duration>
std::int64_t nanoseconds_of(Duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

}  // namespace datafold::net::detail
