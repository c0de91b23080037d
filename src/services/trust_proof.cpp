#include "services/trust_proof.hpp"

#include <string>

#include "datafold/net/identity.hpp"
#include "datafold/net/query_service.hpp"
#include "core/value_codec.hpp"
#include "services/canonical_writer.hpp"

namespace datafold::net {

namespace detail {

std::vector<std::uint8_t> trust_proof_bytes(const Uuid& query_id, const Query& query,
                                            std::uint32_t claimed_distance, std::int64_t timestamp_ms) {
  std::vector<std::uint8_t> out;
  out.reserve(kTrustProofDomain.size() + Uuid::kSize + 64 + query.schema_name.size() + query.pub_key.size());
  CanonicalWriter w(out);
  w.raw(reinterpret_cast<const std::uint8_t*>(kTrustProofDomain.data()), kTrustProofDomain.size());
  w.raw(query_id.bytes().data(), query_id.bytes().size());
  w.str(query.schema_name);
  w.u32(static_cast<std::uint32_t>(query.fields.size()));
  for (const auto& field : query.fields) w.str(field);
  w.str(query.pub_key);
  w.u32(query.trust_distance);
  if (query.filter) {
    w.u8(0x01);
    wire::Value filter;
    (void)encode_value(*query.filter, filter);  // a cut subtree is signed as the null that is sent
    w.value(filter);
  } else {
    w.u8(0x00);
  }
  w.u32(claimed_distance);
  w.i64(timestamp_ms);
  // Appended only when used, so a proof for a query without them has the bytes it
  // always had.
  if (query.limit != 0 || !query.cursor.empty()) {
    w.u8(0x01);
    w.u32(query.limit);
    w.str(query.cursor);
  }
  return out;
}

bool verify_trust_proof(const Uuid& query_id, const Query& query, const TrustProof& proof) {
  if (proof.signature.size() != Identity::Signature{}.size()) return false;
  const auto bytes = trust_proof_bytes(query_id, query, proof.trust_distance, proof.timestamp_ms);
  return proof.public_key.verify(bytes, proof.signature);
}

}  // namespace detail

TrustProof make_trust_proof(const Identity& identity, const Uuid& query_id, const Query& query,
                            std::uint32_t claimed_distance, std::int64_t now_ms, bool sign) {
  TrustProof proof;
  proof.public_key = identity.public_key();
  proof.trust_distance = claimed_distance;
  proof.timestamp_ms = now_ms;
  if (sign) {
    const auto signature = identity.sign(detail::trust_proof_bytes(query_id, query, claimed_distance, now_ms));
    proof.signature.assign(signature.begin(), signature.end());
  }
  return proof;
}

}  // namespace datafold::net
