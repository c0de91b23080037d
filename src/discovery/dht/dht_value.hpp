// What DataFold stores in the DHT (docs/PROTOCOL.md section 13): an OpenDHT
// value whose data is exactly a serialized SignedAnnouncement (the bytes a LAN
// datagram carries after its 5-byte header), typed so other applications' values
// under the same key are not mistaken for ours.
//
// Each publication is a new value with a fresh random 64-bit id. OpenDHT storage
// nodes refuse to edit a stored value (ValueType::DEFAULT_EDIT_POLICY; Debian's
// 2.4.12 keeps the first data it stored for an id), so a stable id would leave the
// first announcement in place for good on every node that does not run DataFold;
// and a predictable id could be squatted. Earlier values stay readable until
// OpenDHT expires them (10 minutes after their last refresh); readers keep the
// newest, see DhtValueChecker.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "discovery/announcement.hpp"

namespace datafold::net::discovery {

// dht::Value::type. Unregistered on storage nodes, which then apply OpenDHT's
// generic USER_DATA rules (64 KiB, 10-minute expiry): nothing needs registering
// on a node that does not run DataFold.
inline constexpr std::uint16_t kDhtValueType = 0x4446;  // "DF"
// dht::Value::user_type.
inline constexpr std::string_view kDhtUserType = "datafold-announcement/1";
// Larger values are not parsed: the same cap as a LAN datagram. (OpenDHT itself
// refuses values over 64 KiB.)
inline constexpr std::size_t kMaxDhtValueBytes = kMaxDatagramBytes;
// A value is believed for its announcement's ttl_seconds after its timestamp,
// but never longer than this, whatever the ttl says.
inline constexpr std::chrono::seconds kMaxDhtValueLifetime{3600};

enum class DhtVerdict : std::uint8_t {
  Accepted,        // verified, and the newest of its node among the values read
  Superseded,      // verified, but the node has a newer value there (an earlier instance's)
  Oversize,        // over kMaxDhtValueBytes; not parsed
  Malformed,       // not a SignedAnnouncement / NodeAnnouncement
  BadSignature,    // the signature does not verify with the announced key
  IdMismatch,      // node_id != SHA-256(public_key)
  WrongKey,        // a node key holding another node's announcement
  ForeignNetwork,  // network_name is not ours
  Stale,           // older than its lifetime (ttl, capped) plus the skew window
  Future,          // stamped further ahead than the skew window
  Replayed,        // a lower sequence than another value of the same instance
  Refused,         // a node this node refuses (banned); dropped before its signature is checked
};

// "accepted", "superseded", "oversize", "malformed", "bad signature", "id mismatch",
// "wrong key", "foreign network", "stale", "future", "replayed", "refused".
std::string_view to_string(DhtVerdict verdict) noexcept;

// Accepted or Superseded: the announcement is genuine and current enough.
constexpr bool is_verified(DhtVerdict verdict) noexcept {
  return verdict == DhtVerdict::Accepted || verdict == DhtVerdict::Superseded;
}

}  // namespace datafold::net::discovery
