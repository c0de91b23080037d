#include "discovery/lan/lan_interfaces.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <memory>

namespace datafold::net::discovery {

namespace {
std::string ipv4_text(const sockaddr* address) {
  if (address == nullptr || address->sa_family != AF_INET) return {};
  char text[INET_ADDRSTRLEN] = {};
  const auto* in = reinterpret_cast<const sockaddr_in*>(address);
  return inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) ? std::string(text) : std::string();
}
}  // namespace

NetworkResult<std::vector<LanInterface>> select_interfaces(const std::vector<std::string>& wanted) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return make_error(ErrorKind::Discovery, "cannot list network interfaces");
  std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, freeifaddrs);

  std::vector<LanInterface> all;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET || !(it->ifa_flags & IFF_UP)) continue;
    LanInterface lan;
    lan.name = it->ifa_name;
    lan.address = ipv4_text(it->ifa_addr);
    lan.loopback = (it->ifa_flags & IFF_LOOPBACK) != 0;
    lan.multicast = (it->ifa_flags & IFF_MULTICAST) != 0;
    if (it->ifa_flags & IFF_BROADCAST) lan.broadcast = ipv4_text(it->ifa_broadaddr);
    if (lan.loopback) {
      lan.broadcast = "127.255.255.255";  // delivered to every local listener
      lan.multicast = true;               // works on lo with an explicit outbound interface
    }
    all.push_back(std::move(lan));
  }

  std::vector<LanInterface> chosen;
  if (wanted.empty()) {
    for (auto& lan : all)
      if (!lan.loopback && (lan.multicast || !lan.broadcast.empty())) chosen.push_back(lan);
    if (chosen.empty())
      return make_error(ErrorKind::Config, "no network interface can multicast or broadcast; name one in discovery_interfaces");
    return chosen;
  }
  for (const auto& name : wanted) {
    auto match = std::find_if(all.begin(), all.end(),
                              [&](const LanInterface& lan) { return lan.name == name || lan.address == name; });
    if (match == all.end())
      return make_error(ErrorKind::Config, "discovery interface '" + name + "' is not an up IPv4 interface");
    if (std::none_of(chosen.begin(), chosen.end(), [&](const LanInterface& c) { return c.address == match->address; }))
      chosen.push_back(*match);
  }
  return chosen;
}

}  // namespace datafold::net::discovery
