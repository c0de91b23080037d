#include "core/ip_address.hpp"

#include <string>

#include "core/endpoint.hpp"

namespace datafold::net::detail {

asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  return address;
}

std::optional<asio::ip::address> parse_ip(std::string_view text) {
  // Bounded before parsing: the text may come from a peer. The longest IPv6 text
  // is 45 characters, and an interface name at most 15 more with the '%'.
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::error_code ec;
  const auto address = asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return unmapped(address);
}

std::string ip_text(const asio::ip::address& address) { return unmapped(address).to_string(); }

std::string format_peer_endpoint(const asio::ip::tcp::endpoint& endpoint) {
  return format_host_port(ip_text(endpoint.address()), endpoint.port());
}

bool is_link_local(const asio::ip::address& address) {
  const auto a = unmapped(address);
  if (a.is_v6()) return a.to_v6().is_link_local();
  return (a.to_v4().to_uint() & 0xFFFF0000u) == 0xA9FE0000u;  // 169.254.0.0/16
}

bool is_routable_unicast(const asio::ip::address& address) {
  const auto a = unmapped(address);
  if (a.is_unspecified() || a.is_loopback() || a.is_multicast() || is_link_local(a)) return false;
  if (a.is_v4()) {
    const auto bits = a.to_v4().to_uint();
    if (bits == 0xFFFFFFFFu) return false;                  // limited broadcast
    if ((bits & 0xFF000000u) == 0) return false;           // 0.0.0.0/8: "this network"
  } else {
    if (a.to_v6().is_site_local()) return false;  // fec0::/10, deprecated
  }
  return true;
}

}  // namespace datafold::net::detail
