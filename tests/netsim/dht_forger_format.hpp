// THE ONE PLACE WHERE THE FORGER GUESSES THE DHT FORMAT.
//
// The node's DHT keys and value format are being written in src/discovery/dht/
// (helper B, branch `dht`; docs/PROTOCOL.md specifies them). Until that lands,
// the forger (dht_forger.cpp) uses what is below. Once it has landed, replace the
// bodies with calls to the library's own functions (same names where possible) so
// the forger writes exactly where, and in exactly the shape, nodes read; a forger
// writing to other keys would make the forgery tests pass for the wrong reason.
// (The forgery test guards against that: it requires the victim's genuine value
// to be fetched from node_key() before it forges anything.)
//
// Assumed here:
//   key of a node       InfoHash::get("datafold/node/" + node id text)
//   key of a network    InfoHash::get("datafold/network/" + network name)
//   value               OpenDHT value of type 0 (plain user data), data = the
//                       serialized SignedAnnouncement (no datagram header), as
//                       verify_signed_announcement() takes it.
#pragma once

#include <string>
#include <string_view>

#include <opendht/infohash.h>
#include <opendht/value.h>

namespace datafold::net::testing::forger {

inline dht::InfoHash node_key(std::string_view node_id_text) {
  return dht::InfoHash::get("datafold/node/" + std::string(node_id_text));
}

inline dht::InfoHash network_key(std::string_view network_name) {
  return dht::InfoHash::get("datafold/network/" + std::string(network_name));
}

inline dht::Value make_value(std::string_view signed_announcement) {
  return dht::Value(reinterpret_cast<const std::uint8_t*>(signed_announcement.data()), signed_announcement.size());
}

inline std::string value_bytes(const dht::Value& value) {
  return std::string(value.data.begin(), value.data.end());
}

}  // namespace datafold::net::testing::forger
