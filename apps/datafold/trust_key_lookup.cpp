#include "trust_key_lookup.hpp"

namespace datafold::app {

bool looks_like_node_id(const std::string& text) {
  return !text.empty() && text.size() <= net::NodeId::kTextSize &&
         text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == std::string::npos;
}

std::optional<net::NetworkResult<net::PublicKey>> unique_key_with_prefix(const std::string& prefix,
                                                                        const std::vector<net::PublicKey>& keys,
                                                                        const std::string& where) {
  if (keys.size() == 1) return keys.front();
  if (keys.size() > 1)
    return net::make_error(net::ErrorKind::Config, "node prefix '" + prefix + "' matches " + std::to_string(keys.size()) +
                                                       " nodes " + where + "; give more characters");
  return std::nullopt;
}

std::vector<net::PublicKey> stored_keys_with_prefix(const net::TrustStore& store, const std::string& prefix) {
  std::vector<net::PublicKey> stored;
  for (const auto& entry : store.entries())
    if (entry.public_key.node_id().matches_prefix(prefix)) stored.push_back(entry.public_key);
  return stored;
}

std::optional<net::NetworkResult<net::PublicKey>> resolve_trust_key_in_store(const std::string& text,
                                                                            const net::TrustStore& store) {
  if (auto key = net::PublicKey::from_string(text)) return *key;
  if (!looks_like_node_id(text))
    return net::make_error(net::ErrorKind::Config,
                           "'" + text + "' is neither a public key (base64, 44 characters) nor a node id");
  return unique_key_with_prefix(text, stored_keys_with_prefix(store, text), "in the trust store");
}

net::NetworkResult<net::PublicKey> resolve_trust_key(const std::string& text, const net::TrustStore& store,
                                                     const std::vector<net::PublicKey>& met, const std::string& met_where) {
  if (auto settled = resolve_trust_key_in_store(text, store)) return std::move(*settled);
  std::vector<net::PublicKey> matching;
  for (const auto& key : met)
    if (key.node_id().matches_prefix(text)) matching.push_back(key);
  if (auto found = unique_key_with_prefix(text, matching, met_where)) return std::move(*found);
  return net::make_error(net::ErrorKind::Config,
                         "node '" + text + "' is not " + met_where + " (it has not met it); " + kTrustKeyHint);
}

}  // namespace datafold::app
