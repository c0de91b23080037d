// The IPv4 interfaces discovery announces on.
#pragma once

#include <string>
#include <vector>

#include "datafold/net/error.hpp"

namespace datafold::net::discovery {

struct LanInterface {
  std::string name;       // "eth0"
  std::string address;    // "192.168.1.7"
  std::string broadcast;  // its directed broadcast address, or "" if none
  bool loopback = false;
  bool multicast = false;
};

// `wanted` empty: every up IPv4 interface that can multicast or broadcast, not
// loopback. Otherwise those whose name or address is listed (loopback included
// when named). Config error if something listed matches nothing, or nothing is left.
NetworkResult<std::vector<LanInterface>> select_interfaces(const std::vector<std::string>& wanted);

}  // namespace datafold::net::discovery
