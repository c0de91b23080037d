// IP addresses as the network reports them: what a dual-stack socket says of an
// IPv4 peer, interface scopes on link-local IPv6, and which addresses can mean
// this host to a peer on another network.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

namespace datafold::net::detail {

// `address` with an IPv4-mapped IPv6 address (::ffff:a.b.c.d, which a dual-stack
// socket reports for an IPv4 peer) turned back into the IPv4 address; others as given.
asio::ip::address unmapped(const asio::ip::address& address);

// An IP literal: "1.2.3.4", "2001:db8::1", "fe80::1%eth0" (scope by name or
// index), without brackets or port. Returned unmapped. nullopt for anything else.
std::optional<asio::ip::address> parse_ip(std::string_view text);

// The text form the library writes: IPv4 dotted, IPv6 compressed; a link-local
// IPv6 address keeps its scope as an interface name ("fe80::1%eth0").
std::string ip_text(const asio::ip::address& address);

// "ip:port" ("[v6]:port") of an endpoint a socket reported, unmapped, so the
// same IPv4 peer reads the same whether a dual-stack or an IPv4 socket took it.
std::string format_peer_endpoint(const asio::ip::tcp::endpoint& endpoint);

// fe80::/10 (and IPv4 169.254/16): meaningful only on one link, with a scope.
bool is_link_local(const asio::ip::address& address);

// Could name this host to a peer on another network: not unspecified,
// loopback, link-local, multicast or broadcast. Private ranges (10/8,
// 192.168/16, fc00::/7) pass: in a routed private network they are real
// addresses.
bool is_routable_unicast(const asio::ip::address& address);

}  // namespace datafold::net::detail
