#include "node/advertised_addresses.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <memory>

#include <asio/ip/address.hpp>

#include "datafold/net/host_port.hpp"

namespace datafold::net::detail {

namespace {

std::string ip_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) ? std::string(text) : std::string();
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
  return inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text) ? std::string(text) : std::string();
}

}  // namespace

std::vector<InterfaceAddress> list_interface_addresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, freeifaddrs);
  std::vector<InterfaceAddress> out;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || !(it->ifa_flags & IFF_UP)) continue;
    if (it->ifa_addr->sa_family != AF_INET && it->ifa_addr->sa_family != AF_INET6) continue;
    auto ip = ip_text(it->ifa_addr);
    if (ip.empty()) continue;
    out.push_back({it->ifa_name, std::move(ip), (it->ifa_flags & IFF_LOOPBACK) != 0});
  }
  return out;
}

std::vector<std::string> addresses_to_announce(std::string_view listen_ip, std::uint16_t port,
                                               const std::vector<InterfaceAddress>& interfaces,
                                               const std::vector<std::string>& extra_ips, std::size_t limit) {
  std::vector<std::string> out;
  auto add = [&](const std::string& ip) {
    auto text = format_host_port(ip, port);
    if (out.size() < limit && std::find(out.begin(), out.end(), text) == out.end()) out.push_back(std::move(text));
  };
  std::error_code ec;
  const auto listen = asio::ip::make_address(std::string(listen_ip), ec);
  if (!ec && !listen.is_unspecified()) {
    add(listen.to_string());
  } else if (!ec) {
    const bool any_family = listen.is_v6();  // "::" is dual-stack; "0.0.0.0" IPv4 alone
    std::vector<std::string> loopback;
    for (const auto& entry : interfaces) {
      const auto address = asio::ip::make_address(entry.ip, ec);
      if (ec || address.is_unspecified()) continue;
      if (address.is_v6() && (!any_family || address.to_v6().is_link_local())) continue;
      if (entry.loopback || address.is_loopback()) {
        loopback.push_back(address.to_string());
      } else {
        add(address.to_string());
      }
    }
    if (out.empty())
      for (const auto& ip : loopback) add(ip);
  }
  for (const auto& ip : extra_ips) add(ip);
  return out;
}

std::vector<NodeAddress> own_addresses(std::string_view listen_ip, std::uint16_t port,
                                       const std::vector<InterfaceAddress>& interfaces,
                                       const std::vector<std::string>& observed_ips, const std::string& mapped,
                                       std::size_t limit) {
  std::vector<NodeAddress> out;
  if (limit == 0) return out;
  if (!mapped.empty()) out.push_back({mapped, AddressSource::Mapped});
  const auto local = addresses_to_announce(listen_ip, port, interfaces, {}, limit);
  const auto all = addresses_to_announce(listen_ip, port, interfaces, observed_ips, limit);
  for (const auto& address : all) {
    if (out.size() >= limit) break;
    if (address == mapped) continue;
    const bool from_interface = std::find(local.begin(), local.end(), address) != local.end();
    out.push_back({address, from_interface ? AddressSource::Lan : AddressSource::PeerReport});
  }
  return out;
}

}  // namespace datafold::net::detail
