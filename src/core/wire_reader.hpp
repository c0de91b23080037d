// WireReader: protobuf's wire format read field by field, for the hand-written
// decoders of hot_codec.cpp. Every read is bounds-checked and fails rather than
// guess: a caller that meets anything it does not expect declines the input, and
// protobuf's own parser takes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/wire_writer.hpp"

namespace datafold::net::detail {

class WireReader {
 public:
  explicit WireReader(std::string_view bytes) noexcept
      : p_(reinterpret_cast<const std::uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  bool done() const noexcept { return p_ == end_; }

  // The next field's number and wire type. False at a malformed or zero tag, or one
  // longer than the five bytes protobuf reads a tag in.
  bool tag(std::uint32_t& field, WireType& type) noexcept {
    std::uint64_t key = 0;
    if (!one_byte(key) && (!varint(key, 5) || key > 0xFFFFFFFFu)) return false;
    field = static_cast<std::uint32_t>(key >> 3);
    type = static_cast<WireType>(key & 7);
    return field != 0;
  }
  // At most ten bytes, the tenth no more than 1 (a uint64); at most `max_bytes`.
  bool varint(std::uint64_t& out, int max_bytes = 10) noexcept {
    std::uint64_t v = 0;
    for (int i = 0, shift = 0; i < max_bytes; ++i, shift += 7) {
      if (p_ == end_) return false;
      const std::uint8_t byte = *p_++;
      if (shift == 63 && byte > 1) return false;
      v |= std::uint64_t{byte & 0x7Fu} << shift;
      if (byte < 0x80) {
        out = v;
        return true;
      }
    }
    return false;
  }
  bool fixed64(std::uint64_t& out) noexcept {
    if (end_ - p_ < 8) return false;
    out = 0;
    for (int i = 0; i < 8; ++i) out |= std::uint64_t{p_[i]} << (8 * i);
    p_ += 8;
    return true;
  }
  // A length-delimited field's content. Its length in at most five bytes and below
  // 2^31, as protobuf reads one.
  bool len(std::string_view& out) noexcept {
    std::uint64_t n = 0;
    if (!one_byte(n) && (!varint(n, 5) || n > 0x7FFFFFFFu)) return false;
    if (n > static_cast<std::uint64_t>(end_ - p_)) return false;
    out = {reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n)};
    p_ += n;
    return true;
  }

 private:
  // A varint of one byte, as most tags and lengths are: read inline, where the
  // loop of varint() would be a call. False (nothing read) for any other.
  bool one_byte(std::uint64_t& out) noexcept {
    if (p_ == end_ || *p_ >= 0x80) return false;
    out = *p_++;
    return true;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// Which fields of a message were seen: a field met twice is one a hand decoder
// does not take (protobuf would keep the last scalar, merge a message).
class SeenFields {
 public:
  // False if `field` was seen already (or is beyond what is tracked).
  bool first(std::uint32_t field) noexcept {
    if (field >= 64) return false;
    const std::uint64_t bit = std::uint64_t{1} << field;
    if ((seen_ & bit) != 0) return false;
    seen_ |= bit;
    return true;
  }

 private:
  std::uint64_t seen_ = 0;
};

}  // namespace datafold::net::detail
