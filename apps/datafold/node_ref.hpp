// What a user may write for NODE: a full node id, a unique prefix of one, or host:port.
#pragma once

#include <string>

#include <datafold/net/network_core.hpp>

namespace datafold::app {

// Resolves `text` against `core`'s known nodes; host:port is dialled to learn who is there.
// Discovery error for no match, Config error for an ambiguous prefix.
net::NetworkResult<net::NodeId> resolve_node(net::NetworkCore& core, const std::string& text);

}  // namespace datafold::app
