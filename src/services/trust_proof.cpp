#include "services/trust_proof.hpp"

#include <bit>
#include <string>

#include "datafold/net/identity.hpp"
#include "datafold/net/query_service.hpp"
#include "core/value_codec.hpp"

namespace datafold::net {

namespace detail {
namespace {

namespace wire = ::datafold::wire;

// Appends the canonical encodings; see trust_proof.hpp for the format.
class CanonicalWriter {
 public:
  explicit CanonicalWriter(std::vector<std::uint8_t>& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  void u64(std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void raw(const std::uint8_t* data, std::size_t size) { out_.insert(out_.end(), data, data + size); }
  // Strings and byte strings above 4 GiB cannot travel (frames are at most 1 GiB),
  // so a u32 length is never truncated for anything that can be sent.
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    raw(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  }

  // Recursion is bounded: encode_value() cut the tree at kMaxValueDepth.
  void value(const wire::Value& v) {
    switch (v.kind_case()) {
      case wire::Value::kBoolValue:
        u8(0x01);
        u8(v.bool_value() ? 1 : 0);
        return;
      case wire::Value::kIntValue:
        u8(0x02);
        i64(v.int_value());
        return;
      case wire::Value::kDoubleValue:
        u8(0x03);
        u64(std::bit_cast<std::uint64_t>(v.double_value()));
        return;
      case wire::Value::kStringValue:
        u8(0x04);
        str(v.string_value());
        return;
      case wire::Value::kBytesValue:
        u8(0x05);
        str(v.bytes_value());
        return;
      case wire::Value::kListValue:
        u8(0x06);
        u32(static_cast<std::uint32_t>(v.list_value().values_size()));
        for (const auto& item : v.list_value().values()) value(item);
        return;
      case wire::Value::kMapValue:
        // encode_value() writes entries in key order (the JSON object is a
        // std::map, whose order is bytewise), which is the order this requires.
        u8(0x07);
        u32(static_cast<std::uint32_t>(v.map_value().entries_size()));
        for (const auto& entry : v.map_value().entries()) {
          str(entry.key());
          value(entry.value());
        }
        return;
      case wire::Value::kNullValue:
      case wire::Value::KIND_NOT_SET:
        break;
    }
    u8(0x00);
  }

 private:
  std::vector<std::uint8_t>& out_;
};

}  // namespace

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
  return out;
}

bool verify_trust_proof(const Uuid& query_id, const Query& query, const TrustProof& proof) {
  if (proof.signature.size() != Identity::Signature{}.size()) return false;
  const auto bytes = trust_proof_bytes(query_id, query, proof.trust_distance, proof.timestamp_ms);
  return proof.public_key.verify(bytes, proof.signature);
}

ReplayCache::ReplayCache(std::chrono::milliseconds retention, std::size_t capacity)
    : retention_ms_(retention.count()), capacity_(capacity == 0 ? 1 : capacity) {}

bool ReplayCache::remember(const Uuid& id, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  while (!by_age_.empty() && by_age_.front().first <= now_ms) {
    ids_.erase(by_age_.front().second);
    by_age_.pop_front();
  }
  if (ids_.contains(id)) return false;
  if (ids_.size() >= capacity_) {
    ids_.erase(by_age_.front().second);
    by_age_.pop_front();
  }
  ids_.insert(id);
  by_age_.emplace_back(now_ms + retention_ms_, id);
  return true;
}

std::size_t ReplayCache::size() const {
  std::lock_guard lock(mutex_);
  return ids_.size();
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
