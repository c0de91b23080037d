// Asio endpoints as "host:port" text (include/datafold/net/host_port.hpp parses it).
#pragma once

#include <string>

#include <asio/ip/tcp.hpp>

#include "datafold/net/host_port.hpp"

namespace datafold::net::detail {

using net::format_host_port;
using net::HostPort;
using net::parse_host_port;

// "1.2.3.4:9000" or "[::1]:9000".
std::string format_endpoint(const asio::ip::tcp::endpoint& endpoint);

}  // namespace datafold::net::detail
