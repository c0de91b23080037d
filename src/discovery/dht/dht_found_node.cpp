#include "discovery/dht/dht_found_node.hpp"

#include <algorithm>
#include <system_error>

#include <asio/ip/address.hpp>

#include "core/relayed_address.hpp"
#include "core/endpoint.hpp"

namespace datafold::net::discovery {

namespace {

bool is_unspecified(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

// Keeps whatever came from the network to what can be an IP literal or a host
// name, so nothing odd reaches a log line, a table or a resolver.
bool plausible_dht_host(std::string_view host) {
  if (is_unspecified(host)) return false;
  if (host.find(':') != std::string_view::npos) {
    std::error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    return !ec;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == '_';
  });
}

}  // namespace

std::optional<std::string> dht_dialable_address(std::string_view announced, std::uint16_t tcp_port) {
  if (detail::is_relayed_address(announced)) {
    if (!detail::parse_relayed_address(announced)) return std::nullopt;
    return std::string(announced);
  }
  if (auto hp = detail::parse_host_port(announced)) {
    if (!plausible_dht_host(hp->host)) return std::nullopt;
    return detail::format_host_port(hp->host, hp->port);
  }
  std::string_view host = announced;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (tcp_port == 0 || !plausible_dht_host(host)) return std::nullopt;
  return detail::format_host_port(host, tcp_port);
}

DhtFoundNode make_found_node(const AnnouncementFields& a, std::chrono::system_clock::time_point read_at) {
  DhtFoundNode out;
  out.announcement = a;
  NodeInfo& info = out.info;
  info.node_id = a.node_id;
  info.public_key = a.public_key;
  info.capabilities = a.capabilities;
  info.last_seen = read_at;
  for (const auto& announced : a.addresses) {
    auto address = dht_dialable_address(announced, a.tcp_port);
    if (!address) continue;
    const bool known = std::any_of(info.addresses.begin(), info.addresses.end(),
                                   [&](const NodeAddress& n) { return n.address == *address; });
    const auto source = detail::is_relayed_address(*address) ? AddressSource::Relay : AddressSource::Dht;
    if (!known) info.addresses.push_back(NodeAddress{std::move(*address), source, read_at, {}});
  }
  if (!info.addresses.empty()) info.address = info.addresses.front().address;
  return out;
}

std::vector<DhtFoundNode> found_nodes(const std::vector<DhtValueCheck>& checks,
                                      std::chrono::system_clock::time_point read_at) {
  std::vector<DhtFoundNode> out;
  for (const auto& c : checks) {
    if (c.verdict != DhtVerdict::Accepted || c.fields->ttl_seconds == 0) continue;
    out.push_back(make_found_node(*c.fields, read_at));
  }
  return out;
}

}  // namespace datafold::net::discovery
