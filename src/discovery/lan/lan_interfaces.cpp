#include "discovery/lan/lan_interfaces.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <memory>

#include "core/ip_address.hpp"

namespace datafold::net::discovery {

namespace {

std::string ipv4_text(const sockaddr* address) {
  if (address == nullptr || address->sa_family != AF_INET) return {};
  char text[INET_ADDRSTRLEN] = {};
  const auto* in = reinterpret_cast<const sockaddr_in*>(address);
  return inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) ? std::string(text) : std::string();
}

// Link-local addresses get this interface as their scope, by name.
std::string ipv6_text(const sockaddr* address, const std::string& interface) {
  if (address == nullptr || address->sa_family != AF_INET6) return {};
  char text[INET6_ADDRSTRLEN] = {};
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
  if (!inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text)) return {};
  std::string out(text);
  if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) out += "%" + interface;
  return out;
}

// Same address, whatever the text: "2001:DB8::1" names 2001:db8::1; a scope is ignored.
bool same_ip(const std::string& a, const std::string& b) {
  auto unscoped = [](const std::string& s) { return s.substr(0, s.find('%')); };
  auto x = detail::parse_ip(unscoped(a));
  auto y = detail::parse_ip(unscoped(b));
  return x && y && *x == *y;
}

bool usable(const LanInterface& lan) {
  const bool v4 = std::any_of(lan.ipv4.begin(), lan.ipv4.end(),
                              [&](const LanIpv4& a) { return lan.multicast_v4 || !a.broadcast.empty(); });
  return v4 || (!lan.ipv6.empty() && lan.multicast_v6);
}

}  // namespace

const std::string& LanInterface::address() const {
  static const std::string kNone;
  return ipv4.empty() ? kNone : ipv4.front().address;
}

std::string LanInterface::describe() const {
  std::string addresses;
  for (const auto& a : ipv4) addresses += (addresses.empty() ? "" : ", ") + a.address;
  for (const auto& a : ipv6) addresses += (addresses.empty() ? "" : ", ") + a;
  return name + " (" + addresses + ")";
}

NetworkResult<std::vector<LanInterface>> select_interfaces(const std::vector<std::string>& wanted) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return make_error(ErrorKind::Discovery, "cannot list network interfaces");
  std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, freeifaddrs);

  // One entry per interface, with all its addresses, in the order the kernel lists them.
  std::vector<LanInterface> all;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || !(it->ifa_flags & IFF_UP)) continue;
    const int family = it->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    auto lan = std::find_if(all.begin(), all.end(), [&](const LanInterface& l) { return l.name == it->ifa_name; });
    if (lan == all.end()) {
      LanInterface fresh;
      fresh.name = it->ifa_name;
      fresh.index = if_nametoindex(it->ifa_name);
      fresh.loopback = (it->ifa_flags & IFF_LOOPBACK) != 0;
      const bool multicast = (it->ifa_flags & IFF_MULTICAST) != 0;
      // IPv4 multicast works on lo with an explicit outbound interface; IPv6
      // multicast does not (sending fails with "network unreachable").
      fresh.multicast_v4 = multicast || fresh.loopback;
      fresh.multicast_v6 = multicast && !fresh.loopback;
      lan = all.insert(all.end(), std::move(fresh));
    }
    if (family == AF_INET) {
      LanIpv4 v4;
      v4.address = ipv4_text(it->ifa_addr);
      v4.netmask = ipv4_text(it->ifa_netmask);
      if (it->ifa_flags & IFF_BROADCAST) v4.broadcast = ipv4_text(it->ifa_broadaddr);
      if (lan->loopback) v4.broadcast = "127.255.255.255";  // delivered to every local listener
      if (!v4.address.empty()) lan->ipv4.push_back(std::move(v4));
    } else {
      auto v6 = ipv6_text(it->ifa_addr, lan->name);
      if (!v6.empty()) lan->ipv6.push_back(std::move(v6));
    }
  }

  std::vector<LanInterface> chosen;
  if (wanted.empty()) {
    for (auto& lan : all)
      if (!lan.loopback && usable(lan)) chosen.push_back(lan);
    if (chosen.empty())
      return make_error(ErrorKind::Config,
                        "no network interface can multicast or broadcast; name one in discovery_interfaces");
    return chosen;
  }
  for (const auto& name : wanted) {
    auto match = std::find_if(all.begin(), all.end(), [&](const LanInterface& lan) {
      return lan.name == name ||
             std::any_of(lan.ipv4.begin(), lan.ipv4.end(), [&](const LanIpv4& a) { return a.address == name; }) ||
             std::any_of(lan.ipv6.begin(), lan.ipv6.end(), [&](const std::string& a) { return same_ip(a, name); });
    });
    if (match == all.end())
      return make_error(ErrorKind::Config,
                        "discovery interface '" + name + "' is not an up interface with an IPv4 or IPv6 address");
    if (std::none_of(chosen.begin(), chosen.end(), [&](const LanInterface& c) { return c.name == match->name; }))
      chosen.push_back(*match);
  }
  return chosen;
}

std::vector<std::string> addresses_to_announce(const std::vector<LanInterface>& lans, const std::string& listen_address) {
  if (listen_address.empty()) return {};
  const auto listen = detail::parse_ip(listen_address.substr(0, listen_address.find('%')));
  if (!listen) return {};
  if (!listen->is_unspecified()) return {listen_address};
  const bool with_v6 = listen->is_v6();
  std::vector<std::string> v4, v6, v6_link_local;
  for (const auto& lan : lans) {
    for (const auto& a : lan.ipv4) v4.push_back(a.address);
    if (!with_v6) continue;
    for (const auto& a : lan.ipv6) (a.find('%') != std::string::npos ? v6_link_local : v6).push_back(a);
  }
  std::vector<std::string> out = std::move(v4);
  out.insert(out.end(), v6.begin(), v6.end());
  out.insert(out.end(), v6_link_local.begin(), v6_link_local.end());
  return out;
}

std::string interface_for_ipv4_source(const std::vector<LanInterface>& lans, const std::string& ipv4) {
  in_addr source{};
  if (inet_pton(AF_INET, ipv4.c_str(), &source) != 1) return {};
  for (const auto& lan : lans) {
    for (const auto& a : lan.ipv4) {
      in_addr address{}, mask{};
      if (inet_pton(AF_INET, a.address.c_str(), &address) != 1 || inet_pton(AF_INET, a.netmask.c_str(), &mask) != 1)
        continue;
      if ((source.s_addr & mask.s_addr) == (address.s_addr & mask.s_addr)) return lan.name;
    }
  }
  return {};
}

}  // namespace datafold::net::discovery
