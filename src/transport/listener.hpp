// The TCP listener a node accepts connections on (DESIGN.md section 11: `[::]:9000`,
// dual stack).
#pragma once

#include <cstdint>
#include <string>

#include <asio/ip/tcp.hpp>

#include "datafold/net/error.hpp"

namespace datafold::net::detail {

// Opens, binds and starts `acceptor` (not yet open) listening on address:port.
//  - "::" takes IPv6 and IPv4 alike (IPV6_V6ONLY off): IPv4 peers arrive as
//    ::ffff:a.b.c.d, which format_peer_endpoint() writes back as IPv4. On a host
//    without IPv6 at all (a kernel booted with ipv6.disable=1) it falls back to
//    "0.0.0.0" rather than fail.
//  - "0.0.0.0" takes IPv4 only; any other address, that address only (an IPv6
//    one with IPV6_V6ONLY on, so it never takes IPv4; a link-local one may carry
//    its scope: "fe80::1%eth0").
// Port 0 picks a free port (read it from acceptor.local_endpoint()).
// Config error if `address` is not an IP address; Connection error if the socket
// cannot be opened, bound or listened on.
NetworkResult<void> open_listener(asio::ip::tcp::acceptor& acceptor, const std::string& address, std::uint16_t port);

}  // namespace datafold::net::detail
