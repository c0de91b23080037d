#include "discovery/dht/dht_value.hpp"

namespace datafold::net::discovery {

std::string_view to_string(DhtVerdict verdict) noexcept {
  switch (verdict) {
    case DhtVerdict::Accepted: return "accepted";
    case DhtVerdict::Superseded: return "superseded";
    case DhtVerdict::Oversize: return "oversize";
    case DhtVerdict::Malformed: return "malformed";
    case DhtVerdict::BadSignature: return "bad signature";
    case DhtVerdict::IdMismatch: return "id mismatch";
    case DhtVerdict::WrongKey: return "wrong key";
    case DhtVerdict::ForeignNetwork: return "foreign network";
    case DhtVerdict::Stale: return "stale";
    case DhtVerdict::Future: return "future";
    case DhtVerdict::Replayed: return "replayed";
    case DhtVerdict::Refused: return "refused";
  }
  return "unknown";
}

}  // namespace datafold::net::discovery
