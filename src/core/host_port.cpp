#include "datafold/net/host_port.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace datafold::net {

namespace {

// Host and port, port 0..65535; nullopt if the text is not host:port.
std::optional<HostPort> split(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    // More than one colon without brackets is an IPv6 address missing them: ambiguous.
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty() || port_text.empty()) return std::nullopt;
  unsigned port = 0;
  const auto* end = port_text.data() + port_text.size();
  auto [stop, ec] = std::from_chars(port_text.data(), end, port);
  if (ec != std::errc{} || stop != end || port > 65535) return std::nullopt;
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buffer[16];
  // A scope ("fe80::1%eth0") is not part of the address inet_pton reads.
  const auto address = host.substr(0, host.find('%'));
  return ::inet_pton(AF_INET, address.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

}  // namespace

std::string HostPort::to_string() const { return format_host_port(host, port); }

std::optional<HostPort> parse_host_port(std::string_view text) {
  auto out = split(text);
  if (!out || out->port == 0) return std::nullopt;
  return out;
}

std::optional<HostPort> parse_listen_address(std::string_view text) {
  auto out = split(text);
  if (!out || !is_ip_literal(out->host)) return std::nullopt;
  return out;
}

std::string format_host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  return out + ":" + std::to_string(port);
}

}  // namespace datafold::net
