// How `datafold trust set|remove` and the dashboard's trust editor find the key a user
// means: a public key as it is, or a node id (or a unique prefix of one) among the keys
// the trust store holds, then among the nodes the running node has met (they proved
// their keys to it). One set of rules, so the page refuses what the CLI refuses.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <datafold/net/error.hpp>
#include <datafold/net/public_key.hpp>
#include <datafold/net/trust_store.hpp>

namespace datafold::app {

// How a public key is written for these commands, for error messages.
inline constexpr const char* kTrustKeyHint = "give the public key instead (base64, as `datafold --json id` prints it)";

// Whether `text` could be a node id or a prefix of one (base32 letters and digits).
bool looks_like_node_id(const std::string& text);

// The one key in `keys` whose node id starts with `prefix`; nullopt when none does; a
// Config error saying "give more characters" when several do (`where` names the list).
std::optional<net::NetworkResult<net::PublicKey>> unique_key_with_prefix(const std::string& prefix,
                                                                        const std::vector<net::PublicKey>& keys,
                                                                        const std::string& where);

// The keys the store holds whose node id starts with `prefix`.
std::vector<net::PublicKey> stored_keys_with_prefix(const net::TrustStore& store, const std::string& prefix);

// What the lookup settles without the nodes met: the key `text` is, or names among the
// store's keys, or why it cannot name one (Config); nullopt when only the nodes met can tell.
std::optional<net::NetworkResult<net::PublicKey>> resolve_trust_key_in_store(const std::string& text,
                                                                            const net::TrustStore& store);

// The whole lookup: `text` as a public key, else as a node id prefix among the store's keys,
// then among `met` (the keys of the nodes the running node has met; `met_where` says whose,
// e.g. "known to the node at 127.0.0.1:9080"). Config errors say what to give instead.
net::NetworkResult<net::PublicKey> resolve_trust_key(const std::string& text, const net::TrustStore& store,
                                                     const std::vector<net::PublicKey>& met, const std::string& met_where);

}  // namespace datafold::app
