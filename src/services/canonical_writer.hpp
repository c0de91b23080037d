// CanonicalWriter: the canonical byte encodings that signatures and MACs cover
// (trust proofs, query cursors): big-endian integers, length-prefixed strings and
// a tagged walk of a wire Value. src/services/trust_proof.hpp specifies the bytes.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "datafold.pb.h"

namespace datafold::net::detail {

namespace wire = ::datafold::wire;

// Appends the canonical encodings to a byte vector.
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

}  // namespace datafold::net::detail
