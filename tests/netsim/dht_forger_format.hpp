// THE ONE PLACE WHERE THE FORGER STATES THE NODES' DHT FORMAT.
//
// Copied from branch `dht` (commit 59a1b1d, src/discovery/dht/dht_keys.hpp and
// dht_value.hpp; docs/PROTOCOL.md section 13), which is not merged into this
// branch's base yet. Once it is, replace the constants below with the library's
// own (discovery::kDhtNodeKeyPrefix, kDhtNetworkKeyPrefix, kDhtValueType,
// kDhtUserType, or dht_node_key()/dht_network_key()) so the forger writes exactly
// where, and in exactly the shape, nodes read. A forger writing elsewhere would
// make the forgery tests pass for the wrong reason; two checks guard against that:
// the forger must first find the victim's own genuine value under node_key(), and
// the nodes must count rejected values.
//
//   key of a node       InfoHash::get("datafold/node/v1/" + node id text)
//   key of a network    InfoHash::get("datafold/network/v1/" + network name)
//   value               type 0x4446, user_type "datafold-announcement/1", data =
//                       the serialized SignedAnnouncement (no datagram header)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <opendht/infohash.h>
#include <opendht/value.h>

namespace datafold::net::testing::forger {

inline constexpr std::string_view kNodeKeyPrefix = "datafold/node/v1/";
inline constexpr std::string_view kNetworkKeyPrefix = "datafold/network/v1/";
inline constexpr std::uint16_t kValueType = 0x4446;
inline constexpr std::string_view kUserType = "datafold-announcement/1";

inline dht::InfoHash node_key(std::string_view node_id_text) {
  return dht::InfoHash::get(std::string(kNodeKeyPrefix) + std::string(node_id_text));
}

inline dht::InfoHash network_key(std::string_view network_name) {
  return dht::InfoHash::get(std::string(kNetworkKeyPrefix) + std::string(network_name));
}

// Typed as the nodes' own values, so their lookups read it rather than filter it out.
inline dht::Value make_value(std::string_view signed_announcement) {
  dht::Value value(kValueType, reinterpret_cast<const std::uint8_t*>(signed_announcement.data()),
                   signed_announcement.size());
  value.user_type = std::string(kUserType);
  return value;
}

// Is this one of the nodes' values (by type), whoever wrote it?
inline bool is_node_value(const dht::Value& value) {
  return value.type == kValueType && value.user_type == kUserType;
}

inline std::string value_bytes(const dht::Value& value) {
  return std::string(value.data.begin(), value.data.end());
}

}  // namespace datafold::net::testing::forger
