// A set of 64-bit fingerprints (keyed hashes of ids peers choose, such as query ids)
// in one flat array: open addressing with linear probing, at most half full, no
// node per entry and no chain. An insert or a lookup is a probe or two in a table
// of 8-byte slots, where an ordered set of 65,536 ids takes seventeen comparisons
// and as many cache misses. The fingerprints must already be keyed (SipHash under
// a secret key): that is what keeps peers from choosing ids whose slots collide.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace datafold::net::detail {

class FingerprintSet {
 public:
  // Every fingerprint has its top bit set (a zero slot is an empty one).
  static constexpr std::uint64_t kMark = std::uint64_t{1} << 63;
  static constexpr std::uint64_t fingerprint(std::uint64_t hash) noexcept { return hash | kMark; }

  bool contains(std::uint64_t fingerprint) const;
  // False (and nothing changes) if `fingerprint` is already in the set.
  bool insert(std::uint64_t fingerprint);
  // False if `fingerprint` was not in the set.
  bool erase(std::uint64_t fingerprint);
  // Starts loading the slot a lookup of `fingerprint` begins at, for a caller that
  // will look it up shortly: a full replay cache's table is a megabyte, so each probe
  // is a cache miss, and misses started together are waited for together.
  void prefetch(std::uint64_t fingerprint) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(&slots_[fingerprint & (slots_.size() - 1)]);
  }
  std::size_t size() const noexcept { return size_; }
  // Slots allocated: grows by doubling, never shrinks (memory follows the peak).
  std::size_t slot_count() const noexcept { return slots_.size(); }
  // The first slot: the slot of `fingerprint` is at (fingerprint & (slot_count() - 1)).
  // They move when the set grows.
  const std::uint64_t* slots() const noexcept { return slots_.data(); }

 private:
  static constexpr std::size_t kFirstSlots = 64;

  // The slot holding `fingerprint`, or the empty slot where it would go.
  std::size_t probe(std::uint64_t fingerprint) const noexcept;
  void grow();

  std::vector<std::uint64_t> slots_;  // a power of two in size, or empty; 0 marks an empty slot
  std::size_t size_ = 0;
};

}  // namespace datafold::net::detail
