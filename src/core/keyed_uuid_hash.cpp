#include "core/keyed_uuid_hash.hpp"

#include "core/siphash.hpp"

namespace datafold::net::detail {

std::size_t KeyedUuidHash::operator()(const Uuid& id) const {
  static const SipKey key = random_sip_key();
  return static_cast<std::size_t>(siphash24(key, id.bytes()));
}

}  // namespace datafold::net::detail
