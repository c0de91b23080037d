// "host:port" text, as configs, NodeInfo and the command line write addresses:
// "127.0.0.1:9000", "[::1]:9000", "[fe80::1%eth0]:9000", "node.example.org:9000".
// One parser for the library and the `datafold` executable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace datafold::net {

struct HostPort {
  std::string host;  // a name or a literal address; IPv6 without brackets, scope kept ("fe80::1%eth0")
  std::uint16_t port = 0;

  // Brackets an IPv6 host, so the text parses back.
  std::string to_string() const;
};

// An address to dial: any host name or address, port 1..65535. nullopt if malformed
// (an IPv6 address must be bracketed, or the port would be ambiguous).
std::optional<HostPort> parse_host_port(std::string_view text);

// An address to listen on: an IP literal (a listener binds one address, it resolves no
// names), port 0..65535 where 0 means "any free port".
std::optional<HostPort> parse_listen_address(std::string_view text);

// "1.2.3.4:9000" or "[::1]:9000".
std::string format_host_port(std::string_view host, std::uint16_t port);

}  // namespace datafold::net
