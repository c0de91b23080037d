// RequestContext: who is asking, as verified by the serving node.
#pragma once

#include <cstdint>

#include "datafold/net/node_id.hpp"
#include "datafold/net/public_key.hpp"

namespace datafold::net {

struct RequestContext {
  NodeId node_id;                   // the TLS-authenticated peer
  PublicKey public_key;             // its key, proven by the handshake
  std::uint32_t trust_distance = 0; // effective: max(claimed, trust store's)
};

}  // namespace datafold::net
