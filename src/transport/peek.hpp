// Looking at a new connection's first byte without taking it, so a listener can
// tell one protocol from another before handing the socket on (a relay's
// listener: TLS or a circuit join).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

namespace datafold::net::detail {

// The first byte, left in the socket; nullopt if none came within `timeout` or the
// connection closed first.
asio::awaitable<std::optional<std::uint8_t>> peek_first_byte(asio::ip::tcp::socket& socket,
                                                             std::chrono::milliseconds timeout);

}  // namespace datafold::net::detail
