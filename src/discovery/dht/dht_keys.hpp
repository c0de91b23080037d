// Where DataFold puts announcements in the DHT (docs/PROTOCOL.md section 13).
//
// OpenDHT addresses values by a 20-byte InfoHash. DataFold uses two keys, each
// the SHA-1 of a fixed text (what OpenDHT's InfoHash::get(text) computes, so an
// operator can read them with OpenDHT's own `dhtnode` tool):
//
//   node key     SHA-1("datafold/node/v1/" + node id text)    the node id in its
//                52-character lower-case base32 form (NodeId::to_string())
//   network key  SHA-1("datafold/network/v1/" + network name) the name's UTF-8 bytes
//
// Computed here with OpenSSL rather than OpenDHT, so the value logic and its
// fuzzer do not need the DHT engine; a unit test checks both agree.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "datafold/net/node_id.hpp"

namespace datafold::net::discovery {

inline constexpr std::string_view kDhtNodeKeyPrefix = "datafold/node/v1/";
inline constexpr std::string_view kDhtNetworkKeyPrefix = "datafold/network/v1/";

// An OpenDHT InfoHash as bytes.
using DhtKey = std::array<std::uint8_t, 20>;

// The text a key hashes: prefix + node id text, or prefix + network name.
std::string dht_node_key_text(const NodeId& node_id);
std::string dht_network_key_text(std::string_view network_name);

DhtKey dht_node_key(const NodeId& node_id);
DhtKey dht_network_key(std::string_view network_name);

// Lower-case hex, as OpenDHT prints an InfoHash.
std::string to_hex(const DhtKey& key);

}  // namespace datafold::net::discovery
