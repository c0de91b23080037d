#include "core/spare_buffers.hpp"

#include <utility>

namespace datafold::net::detail {

SpareBuffers::Buffer SpareBuffers::take(std::size_t capacity) noexcept {
  // The most recently given first: its memory is the likeliest still in cache.
  for (std::size_t i = count_; i-- > 0;) {
    if (kept_[i].capacity < capacity) continue;
    Buffer found = std::move(kept_[i]);
    kept_[i] = std::move(kept_[count_ - 1]);
    --count_;
    return found;
  }
  return {};
}

void SpareBuffers::give(Buffer buffer) noexcept {
  if (!buffer.bytes || buffer.capacity > kMaxBytes || count_ == kMaxKept) return;  // freed here
  kept_[count_++] = std::move(buffer);
}

SpareBuffers& SpareBuffers::of_this_thread() noexcept {
  thread_local SpareBuffers spares;
  return spares;
}

}  // namespace datafold::net::detail
