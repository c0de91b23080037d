// A set of ids that peers choose (query ids), with lookups a peer cannot slow down.
// Open addressing with linear probing in one flat array, at most half full, hashed
// by SipHash under a key drawn per set: with no node per entry and no chain, an
// insert or lookup is a hash and a probe or two, where an ordered set of 65,536 ids
// takes seventeen comparisons and as many cache misses. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/siphash.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {

class UuidSet {
 public:
  UuidSet() : UuidSet(random_sip_key()) {}
  // A fixed key: for tests that need to know where ids land.
  explicit UuidSet(SipKey key) : key_(key) {}

  bool contains(const Uuid& id) const;
  // False (and nothing changes) if `id` is already in the set.
  bool insert(const Uuid& id);
  // False if `id` was not in the set.
  bool erase(const Uuid& id);
  std::size_t size() const noexcept { return size_; }
  // Slots allocated: grows by doubling, never shrinks (memory follows the peak).
  std::size_t slot_count() const noexcept { return slots_.size(); }

 private:
  struct Slot {
    std::uint64_t tag = 0;  // the id's hash with the top bit set; 0 marks an empty slot
    Uuid id;
  };
  static constexpr std::size_t kFirstSlots = 64;

  std::uint64_t tag_of(const Uuid& id) const noexcept;
  // The slot holding `id`, or the empty slot where it would go.
  std::size_t probe(const Uuid& id, std::uint64_t tag) const noexcept;
  void grow();

  SipKey key_;
  std::vector<Slot> slots_;  // a power of two in size, or empty
  std::size_t size_ = 0;
};

}  // namespace datafold::net::detail
