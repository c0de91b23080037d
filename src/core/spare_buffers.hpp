// Byte buffers a thread let go of, kept for the next one the same thread needs.
//
// A connection waiting for its peer holds no read buffer (FrameDecoder::release): at
// 5,000 idle connections that is 80 MB not held. But a busy I/O thread lets go of a
// connection's buffer each time the socket runs dry and needs one again at the next
// readable event, often within microseconds. Handing 16 KiB back to malloc and taking
// it again every time costs more than the copy it saves: glibc serves a request that
// size by first consolidating its fast bins (about 3 % of a store node's CPU). A few
// buffers kept per thread make that a pop and a push.
//
// Bounded: at most kMaxKept buffers of at most kMaxBytes each per thread, freed when the
// thread ends. Each thread has its own (of_this_thread), so no lock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace datafold::net::detail {

class SpareBuffers {
 public:
  static constexpr std::size_t kMaxKept = 4;
  // Larger buffers (after a large frame) go back to malloc: keeping them would hold
  // memory for a peak rather than for the usual read.
  static constexpr std::size_t kMaxBytes = 64u << 10;

  struct Buffer {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t capacity = 0;
  };

  // A kept buffer of at least `capacity` bytes (its contents are whatever they were),
  // or an empty Buffer when none is kept that large.
  Buffer take(std::size_t capacity) noexcept;
  // Keeps `buffer` if it is at most kMaxBytes and there is room; frees it otherwise.
  void give(Buffer buffer) noexcept;
  std::size_t kept() const noexcept { return count_; }

  // The calling thread's.
  static SpareBuffers& of_this_thread() noexcept;

 private:
  std::array<Buffer, kMaxKept> kept_;
  std::size_t count_ = 0;  // kept_[0, count_) hold buffers
};

}  // namespace datafold::net::detail
