// Frames and envelopes: how Messages become bytes on a connection and back.
// Frame = 4-byte big-endian length + one protobuf Envelope (docs/PROTOCOL.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "datafold/net/error.hpp"
#include "datafold/net/json.hpp"
#include "datafold/net/message.hpp"

namespace datafold::net {

inline constexpr std::size_t kFrameHeaderBytes = 4;
inline constexpr std::size_t kDefaultMaxFrameBytes = 16u << 20;

// Appends one whole frame (header + envelope) to `out`. Reuses out's capacity.
void append_frame(const Message& message, std::string& out);

// The envelope bytes of `message` alone, without the length header.
std::string encode_envelope(const Message& message);

// Decodes one envelope (without header). An envelope with an unknown body
// decodes to UnknownMessage; bytes that are not an envelope, or an envelope
// whose ids or fields are malformed, give a Message error with code InvalidMessage.
NetworkResult<Message> decode_envelope(std::span<const std::uint8_t> bytes);

// Splits a byte stream into frame payloads. Fed whatever the socket read;
// yields each whole frame's envelope bytes. Plain class: no sockets, no clock.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // Appends received bytes.
  void feed(std::span<const std::uint8_t> bytes);
  // Where the next read may write up to `n` bytes directly (avoids a copy);
  // call commit(k) with how many were written.
  std::span<std::uint8_t> prepare(std::size_t n);
  void commit(std::size_t n);

  enum class Status { Frame, NeedMore, TooLarge };
  // On Frame, `payload` views the envelope bytes; valid until the next call on this decoder.
  Status next(std::span<const std::uint8_t>& payload);

  // The length the peer announced when next() returned TooLarge.
  std::size_t announced_length() const noexcept { return announced_length_; }
  std::size_t buffered_bytes() const noexcept { return end_ - begin_; }

  // Frees the buffer if it holds no received bytes (the next prepare() or feed()
  // allocates one again): a connection waiting for its peer keeps no read buffer.
  void release() noexcept;

 private:
  void compact();
  void grow(std::size_t capacity);

  // Not std::string: a read buffer need not be zeroed before the socket fills it.
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
  std::size_t max_frame_bytes_;
  std::size_t announced_length_ = 0;
};

}  // namespace datafold::net
