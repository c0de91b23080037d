// A hash for tables keyed by ids a peer chooses (its query ids): SipHash under a
// key drawn once per process. std::hash<Uuid> takes the first eight bytes as they
// are, which is enough for ids this node draws, but a peer sending ids that share
// them would put every one in the same bucket.
#pragma once

#include <cstddef>

#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {

struct KeyedUuidHash {
  // The first call draws the key (OpenSSL's generator; throws if that fails).
  std::size_t operator()(const Uuid& id) const;
};

}  // namespace datafold::net::detail
