// How a node answers its peers from its SqliteStore: what `datafold node` sets on its
// NetworkCore, and what `datafold bench --store` sets on the store target it loads, so
// the bench measures the node as operators run it.
#pragma once

#include <memory>

#include <datafold/net/config.hpp>
#include <datafold/net/network_core.hpp>

#include "store/sqlite_store.hpp"

namespace datafold::app {

// What serving a store asks of the node's config (set before NetworkCore::create).
void configure_for_store(net::NetworkConfig& config);

// Answers queries a page at a time and schema listings from `data`, each as far as the
// requester's verified key and distance allow, a turn of a peer's requests in one read
// transaction; names in schemas' allow-lists are the trust store's. `core` must stay
// where it is (not be moved) while `data` is in use.
void serve_store(net::NetworkCore& core, const std::shared_ptr<store::SqliteStore>& data);

}  // namespace datafold::app
