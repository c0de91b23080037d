// What the test forger (dht_forger.cpp) writes into the nodes' DHT: announcements
// that no node may believe, each for a different reason a DHT value must be
// refused (DESIGN.md section 10.2: anyone can write to a DHT).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "datafold/net/identity.hpp"
#include "datafold/net/node_id.hpp"

namespace datafold::net::testing {

struct Forgery {
  std::string bytes;                // the value's data
  bool under_network_key = true;    // also put under the network's key (always under the victim's)
  // Why a checker refuses it under the network's key, in DhtVerdict's words (under
  // the victim's key, a forgery naming the forger is "wrong key" before anything else).
  std::string expected_rejection;
};

struct ForgeryPlan {
  const Identity* forger = nullptr;
  NodeId victim;
  std::string network;
  std::string claim;  // "ip:port" the forgeries give as the address: the forger's own
  // A genuine announcement of the victim (a serialized SignedAnnouncement), if the
  // forger has one: then also a tampered copy of it.
  std::optional<std::string> genuine;
  NodeId phantom;     // an id no key hashes to
};

// Forgeries by name: "claims_victim_id", "phantom_node", "foreign_network",
// "stale_timestamp", "wrong_key", "datagram_framed", "garbage", "oversize", and
// with a genuine value "tampered".
std::map<std::string, Forgery> make_forgeries(const ForgeryPlan& plan);

}  // namespace datafold::net::testing
