// A map from ids this node chose (Uuid::random) to values, in one flat array: open
// addressing with linear probing, at most half full, erased by backward shift (no
// tombstones). A request's entry costs no node allocation and its lookup a probe or
// two, where std::unordered_map allocates a node per entry and follows a chain.
//
// Only the node's own random ids are inserted, so no peer can cluster the slots; a
// peer's reply can only look an id up, and a miss ends at the first empty slot.
// The id is mixed (Fibonacci hashing) before it picks a slot: v4 ids carry fixed
// version bits. Pointers to values are valid until the next insert or erase.
// Not thread-safe.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {

template <typename T>
class UuidTable {
 public:
  // The value for `id`, default-made and true if it was absent; the present one and
  // false otherwise.
  std::pair<T*, bool> try_emplace(const Uuid& id) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    Slot& slot = slots_[probe(id)];
    if (slot) return {&slot->second, false};
    slot.emplace(id, T{});
    ++size_;
    return {&slot->second, true};
  }

  T* find(const Uuid& id) {
    if (slots_.empty()) return nullptr;
    Slot& slot = slots_[probe(id)];
    return slot ? &slot->second : nullptr;
  }

  // False if `id` was not in the table.
  bool erase(const Uuid& id) {
    if (slots_.empty()) return false;
    std::size_t hole = probe(id);
    if (!slots_[hole]) return false;
    // Every entry after the hole, up to the next empty slot, whose home is not between
    // the hole and itself moves into the hole: each stays reachable from its home.
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t next = (hole + 1) & mask; slots_[next]; next = (next + 1) & mask) {
      const std::size_t home = home_of(slots_[next]->first);
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        slots_[hole] = std::move(slots_[next]);
        hole = next;
      }
    }
    slots_[hole].reset();
    --size_;
    return true;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // Calls f(id, value) for every entry, in no particular order.
  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& slot : slots_)
      if (slot) f(slot->first, slot->second);
  }

  // Every entry, moved out; the table is left empty (its memory kept).
  std::vector<std::pair<Uuid, T>> take_all() {
    std::vector<std::pair<Uuid, T>> out;
    out.reserve(size_);
    for (Slot& slot : slots_) {
      if (!slot) continue;
      out.push_back(std::move(*slot));
      slot.reset();
    }
    size_ = 0;
    return out;
  }

 private:
  using Slot = std::optional<std::pair<Uuid, T>>;
  static constexpr std::size_t kFirstSlots = 16;

  std::size_t home_of(const Uuid& id) const noexcept {
    std::uint64_t halves[2];
    static_assert(sizeof(halves) == Uuid::kSize);
    std::memcpy(halves, id.bytes().data(), sizeof(halves));
    return static_cast<std::size_t>(((halves[0] ^ halves[1]) * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  // The slot holding `id`, or the empty slot where it would go. The table is never
  // more than half full, so an empty slot ends every probe.
  std::size_t probe(const Uuid& id) const noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home_of(id);
    while (slots_[i] && slots_[i]->first != id) i = (i + 1) & mask;
    return i;
  }

  void grow() {
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(slots_.empty() ? kFirstSlots : slots_.size() * 2));
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(slots_.size()));
    for (Slot& slot : old)
      if (slot) slots_[probe(slot->first)] = std::move(slot);
  }

  std::vector<Slot> slots_;  // a power of two in size, or empty
  unsigned shift_ = 64;      // 64 - log2(slots_.size()): the mixed id's top bits pick the slot
  std::size_t size_ = 0;
};

}  // namespace datafold::net::detail
