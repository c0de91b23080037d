// Where, and in what shape, the forger writes: exactly where nodes read, taken from
// the library (src/discovery/dht/dht_keys.hpp, dht_value.hpp; docs/PROTOCOL.md
// section 13). Two checks guard against a forger that writes elsewhere and so makes
// the forgery tests pass for the wrong reason: it must first find the victim's own
// genuine value under node_key(), and the nodes must count rejected values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <opendht/infohash.h>
#include <opendht/value.h>

#include "discovery/dht/dht_keys.hpp"
#include "discovery/dht/dht_value.hpp"

namespace datafold::net::testing::forger {

inline constexpr std::string_view kNodeKeyPrefix = discovery::kDhtNodeKeyPrefix;
inline constexpr std::string_view kNetworkKeyPrefix = discovery::kDhtNetworkKeyPrefix;
inline constexpr std::uint16_t kValueType = discovery::kDhtValueType;
inline constexpr std::string_view kUserType = discovery::kDhtUserType;

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
