// Read policies: may this requester read that field? Decided by the serving node from the
// verified RequestContext (effective distance, proven key), never from the requester's word.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <datafold/net/request_context.hpp>

#include "store/schema_definition.hpp"

namespace datafold::store {

struct ReadDecision {
  bool allowed = false;
  // When denied by a Distance policy: the largest effective distance that may read.
  std::optional<std::uint32_t> required_distance;
  // When denied: why, in words a requester can act on, e.g.
  // "needs trust distance <= 1, requester is at 5".
  std::string reason;
};

// Allowed when the requester is this node (effective distance 0), when the policy is
// NoRequirement, when it is Distance n and the requester's effective distance is <= n, or
// when the requester's public key is in the field's explicit allow-list.
ReadDecision decide(const FieldPolicy& policy, const net::RequestContext& requester);

// Whether `requester` may read at least one field of `schema`: a schema listing shows
// only such schemas.
bool can_read_anything(const SchemaDefinition& schema, const net::RequestContext& requester);

// A requester's effective distance as a person reads it: "at 5", or "unknown (not in the
// trust store)" for 4294967295, the distance a node gives a key its trust store lacks
// (NetworkConfig::unknown_trust_distance), which as a number reads like a real one.
std::string requester_distance_text(std::uint32_t distance);

}  // namespace datafold::store
