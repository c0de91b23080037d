// "host:port" as the command line takes addresses ("127.0.0.1:9000", "[::1]:9000").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace datafold::app {

struct HostPort {
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 0;

  // Brackets an IPv6 host, so the text parses back.
  std::string to_string() const;
};

// A peer to dial: any host name or address, port 1..65535.
std::optional<HostPort> parse_peer_address(std::string_view text);

// An address to listen on: an IP literal (the listener binds one address, it does not
// resolve names), port 0..65535 where 0 means "any free port".
std::optional<HostPort> parse_listen_address(std::string_view text);

}  // namespace datafold::app
