// "host:port" text, as configs, NodeInfo and the CLI write addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <asio/ip/tcp.hpp>

namespace datafold::net::detail {

struct HostPort {
  std::string host;  // name or literal address, IPv6 without brackets
  std::uint16_t port = 0;
};

// "1.2.3.4:9000", "[::1]:9000", "example.org:9000". nullopt if malformed or port is 0.
std::optional<HostPort> parse_host_port(std::string_view text);

// "1.2.3.4:9000" or "[::1]:9000".
std::string format_endpoint(const asio::ip::tcp::endpoint& endpoint);
std::string format_host_port(std::string_view host, std::uint16_t port);

}  // namespace datafold::net::detail
