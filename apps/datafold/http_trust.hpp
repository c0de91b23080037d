// The HTTP API's trust route, for `datafold trust set|remove` on a running node's data dir:
//   POST /api/v1/trust/reload   → {"entries": n}
// The CLI writes trust.json itself (it works with no node running), then asks the node to
// re-read it before returning, so the change holds for the very next query rather than
// after the store's next look at the file (TrustStore::kReloadInterval).
#pragma once

#include <datafold/net/network_core.hpp>

namespace httplib {
class Server;
}

namespace datafold::app {

void install_trust_routes(httplib::Server& server, net::NetworkCore& core);

}  // namespace datafold::app
