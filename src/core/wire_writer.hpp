// WireWriter: protobuf's wire format written back to front, for the hand-written
// encoders of hot_codec.cpp.
//
// A length-delimited field needs its content's length before the content. Written
// back to front, the content comes first and its length is then known: one pass,
// no size precomputation, and the bytes are exactly what protobuf's serializer
// writes (minimal varints, fields in the order the caller writes them reversed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace datafold::net::detail {

enum class WireType : std::uint32_t { Varint = 0, Fixed64 = 1, Len = 2, Fixed32 = 5 };

class WireWriter {
 public:
  WireWriter() = default;
  WireWriter(const WireWriter&) = delete;
  WireWriter& operator=(const WireWriter&) = delete;
  ~WireWriter() { delete[] buffer_; }

  // Bytes written so far: a mark for len_field() and rewind().
  std::size_t size() const noexcept { return capacity_ - front_; }
  // What was written, first byte first.
  std::string_view bytes() const noexcept { return {buffer_ + front_, size()}; }
  // Drops everything written since `mark` (a size()).
  void rewind(std::size_t mark) noexcept { front_ = capacity_ - mark; }
  void clear() noexcept { front_ = capacity_; }
  // Frees a buffer grown past `keep` bytes (after one large message), so a writer
  // kept per thread does not hold it.
  void shrink_to(std::size_t keep) noexcept {
    if (capacity_ <= keep) return;
    delete[] buffer_;
    buffer_ = nullptr;
    capacity_ = front_ = 0;
  }

  void raw(const void* data, std::size_t n) {
    room(n);
    front_ -= n;
    if (n != 0) std::memcpy(buffer_ + front_, data, n);
  }
  // Most varints written are tags and short lengths, one byte each: that case is
  // inlined into the encoders (a call per varint was 3-4 % of a query's instructions).
  void varint(std::uint64_t v) {
    if (v < 0x80 && front_ != 0) [[likely]] {
      buffer_[--front_] = static_cast<char>(v);
      return;
    }
    long_varint(v);
  }
  void tag(std::uint32_t field, WireType type) { varint((std::uint64_t{field} << 3) | static_cast<std::uint32_t>(type)); }

  // A field, always written (oneof members, repeated elements).
  void varint_field(std::uint32_t field, std::uint64_t v) {
    varint(v);
    tag(field, WireType::Varint);
  }
  void fixed64_field(std::uint32_t field, std::uint64_t v) {
    std::uint8_t le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<std::uint8_t>(v >> (8 * i));
    raw(le, 8);
    tag(field, WireType::Fixed64);
  }
  void bytes_field(std::uint32_t field, std::string_view v) {
    raw(v.data(), v.size());
    varint(v.size());
    tag(field, WireType::Len);
  }
  // Closes a message field whose content was written since `mark`.
  void len_field(std::uint32_t field, std::size_t mark) {
    varint(size() - mark);
    tag(field, WireType::Len);
  }

  // proto3 scalars without presence: written only when not the default.
  void varint_if_set(std::uint32_t field, std::uint64_t v) {
    if (v != 0) varint_field(field, v);
  }
  void bytes_if_set(std::uint32_t field, std::string_view v) {
    if (!v.empty()) bytes_field(field, v);
  }

 private:
  [[gnu::noinline]] void long_varint(std::uint64_t v) {
    std::uint8_t tmp[10];
    std::size_t n = 0;
    while (v >= 0x80) {
      tmp[n++] = static_cast<std::uint8_t>(v | 0x80);
      v >>= 7;
    }
    tmp[n++] = static_cast<std::uint8_t>(v);
    raw(tmp, n);
  }
  // Makes room for `n` more bytes in front, keeping what is written at the back.
  void room(std::size_t n) {
    if (front_ >= n) return;
    std::size_t capacity = capacity_ == 0 ? 256 : capacity_ * 2;
    while (capacity - size() < n) capacity *= 2;
    auto* grown = new char[capacity];
    const std::size_t used = size();
    if (used != 0) std::memcpy(grown + capacity - used, buffer_ + front_, used);
    delete[] buffer_;
    buffer_ = grown;
    capacity_ = capacity;
    front_ = capacity - used;
  }

  char* buffer_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t front_ = 0;  // the first written byte; capacity_ when empty
};

}  // namespace datafold::net::detail
