// The HTTP API's trust routes:
//   POST /api/v1/trust/reload   → {"entries": n}
//     for `datafold trust set|remove` on a running node's data dir: the CLI writes
//     trust.json itself (it works with no node running), then asks the node to re-read it
//     before returning, so the change holds for the very next query rather than after the
//     store's next look at the file (TrustStore::kReloadInterval).
//   GET  /api/v1/trust          → [{"node_id", "public_key", "distance", "note", "name"}]
//   POST /api/v1/trust/set      {"node": id|prefix|key, "distance": n, "note"?: s, "name"?: s}
//                               → the entry as stored
//   POST /api/v1/trust/remove   {"node": id|prefix|key} → {"node_id", "public_key", "removed": true}
//     for the dashboard: the same lookup and checks as `datafold trust set|remove`
//     (trust_key_lookup.hpp, TrustStore::set), applied to the running node's store, which
//     writes the same file the CLI does. A refusal is 400 with the CLI's message; removing
//     a key the store does not hold is 404.
#pragma once

#include <datafold/net/network_core.hpp>

namespace httplib {
class Server;
}

namespace datafold::app {

void install_trust_routes(httplib::Server& server, net::NetworkCore& core);

}  // namespace datafold::app
