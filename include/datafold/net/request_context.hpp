// RequestContext: who is asking, as verified by the serving node.
#pragma once

#include <cstdint>

#include "datafold/net/node_id.hpp"
#include "datafold/net/public_key.hpp"

namespace datafold::net {

struct RequestContext {
  // The requester: the TLS-authenticated peer, or, for a query the peer relays on
  // someone's behalf, the key whose signature on the trust proof verified.
  NodeId node_id;
  PublicKey public_key;
  std::uint32_t trust_distance = 0;  // effective: max(claimed, trust store's)
};

}  // namespace datafold::net
