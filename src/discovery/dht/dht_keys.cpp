#include "discovery/dht/dht_keys.hpp"

#include <openssl/evp.h>

namespace datafold::net::discovery {

namespace {

DhtKey sha1(std::string_view text) {
  DhtKey out{};
  unsigned int length = 0;
  // SHA-1 of a short buffer fails only if OpenSSL cannot allocate; the zero key
  // then names nothing anyone published under.
  if (EVP_Digest(text.data(), text.size(), out.data(), &length, EVP_sha1(), nullptr) != 1 ||
      length != out.size()) {
    return DhtKey{};
  }
  return out;
}

}  // namespace

std::string dht_node_key_text(const NodeId& node_id) {
  return std::string(kDhtNodeKeyPrefix) + node_id.to_string();
}

std::string dht_network_key_text(std::string_view network_name) {
  std::string out(kDhtNetworkKeyPrefix);
  out.append(network_name);
  return out;
}

DhtKey dht_node_key(const NodeId& node_id) { return sha1(dht_node_key_text(node_id)); }

DhtKey dht_network_key(std::string_view network_name) { return sha1(dht_network_key_text(network_name)); }

std::string to_hex(const DhtKey& key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (const std::uint8_t b : key) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace datafold::net::discovery
