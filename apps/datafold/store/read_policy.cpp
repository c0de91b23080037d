#include "store/read_policy.hpp"

#include <algorithm>
#include <limits>
#include <string>

namespace datafold::store {

namespace {

ReadDecision allowed() { return ReadDecision{true, std::nullopt, {}}; }

// NetworkConfig::unknown_trust_distance's default: what a key the trust store lacks gets.
constexpr std::uint32_t kUnknownDistance = std::numeric_limits<std::uint32_t>::max();

}  // namespace

ReadDecision decide(const FieldPolicy& policy, const net::RequestContext& requester) {
  // Distance 0 is the node itself (its own CLI and HTTP API): it owns the data. Any
  // Distance n >= 0 would admit it anyway; saying so keeps that true if policies grow.
  if (requester.trust_distance == 0) return allowed();
  if (!policy.max_distance) return allowed();
  if (requester.trust_distance <= *policy.max_distance) return allowed();
  // fold_db's explicit_read_policy maps a key to a count; the number is fold_db's and not
  // used here: a listed key may read, whatever its count. An empty
  // key means "no proven key" and must never match a listed all-zero key.
  if (!requester.public_key.empty() && (policy.explicit_readers.contains(requester.public_key) ||
                                        policy.resolved_readers.contains(requester.public_key)))
    return allowed();
  return ReadDecision{false, *policy.max_distance,
                      "needs trust distance <= " + std::to_string(*policy.max_distance) +
                          ", requester is " + requester_distance_text(requester.trust_distance)};
}

bool can_read_anything(const SchemaDefinition& schema, const net::RequestContext& requester) {
  return std::any_of(schema.fields.begin(), schema.fields.end(),
                     [&](const FieldDefinition& f) { return decide(f.policy, requester).allowed; });
}

std::string requester_distance_text(std::uint32_t distance) {
  if (distance == kUnknownDistance) return "unknown (not in the trust store)";
  return "at " + std::to_string(distance);
}

}  // namespace datafold::store
