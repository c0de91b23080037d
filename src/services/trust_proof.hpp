// Trust proofs (DESIGN.md section 9): the exact bytes a TrustProof signature
// covers and checking a signature over them (replay_cache.hpp refuses replayed
// query ids). Private to the library; QueryService is the user, docs/PROTOCOL.md
// section 7.2 specifies the bytes, make_trust_proof() (query_service.hpp) signs.
//
// Canonical bytes, all integers big-endian, str(s) = u32 byte length || bytes:
//   "datafold/trust-proof/v1" 0x00            24 bytes, domain separation
//   query id                                  16 raw bytes
//   str(query.schema_name)
//   u32 field count || str(field) ...         in request order
//   str(query.pub_key)
//   u32 query.trust_distance
//   0x00 (no filter) | 0x01 value(filter)
//   u32 trust_proof.trust_distance            the claimed distance
//   i64 trust_proof.timestamp_ms              two's complement
//   then, only when query.limit != 0 or query.cursor is not empty:
//   0x01 u32 query.limit str(query.cursor)
// value(v) walks the filter as it travels on the wire (the protobuf Value the
// codec makes of it), one tag byte per node:
//   0x00 null | 0x01 bool (1 byte, 0/1) | 0x02 int (i64) | 0x03 double (u64 of
//   the IEEE-754 bits) | 0x04 string (str) | 0x05 bytes (str) |
//   0x06 list: u32 count, value... | 0x07 map: u32 count, (str(key) value)...
//   with keys in ascending byte order.
// Walking the wire form, not the JSON, is what makes both ends agree: the
// codec's conversions (unsigned above INT64_MAX to double, non-UTF-8 strings to
// bytes, nesting cut at 64 levels) happen before the bytes are taken, on the
// signer's side and again, identically, on the verifier's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "datafold/net/message.hpp"
#include "datafold/net/query.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {

inline constexpr std::string_view kTrustProofDomain{"datafold/trust-proof/v1\0", 24};

// The bytes a trust proof's signature covers (see above).
std::vector<std::uint8_t> trust_proof_bytes(const Uuid& query_id, const Query& query,
                                            std::uint32_t claimed_distance, std::int64_t timestamp_ms);

// True if `proof.signature` is proof.public_key's Ed25519 signature over
// trust_proof_bytes(query_id, query, proof.trust_distance, proof.timestamp_ms).
bool verify_trust_proof(const Uuid& query_id, const Query& query, const TrustProof& proof);

}  // namespace datafold::net::detail
