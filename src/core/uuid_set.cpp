#include "core/uuid_set.hpp"

#include <utility>

namespace datafold::net::detail {

std::uint64_t UuidSet::tag_of(const Uuid& id) const noexcept {
  return siphash24(key_, id.bytes()) | (std::uint64_t{1} << 63);
}

std::size_t UuidSet::probe(const Uuid& id, std::uint64_t tag) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = tag & mask;
  // Terminates: the table is never more than half full, so an empty slot exists.
  while (slots_[i].tag != 0 && (slots_[i].tag != tag || slots_[i].id != id)) i = (i + 1) & mask;
  return i;
}

bool UuidSet::contains(const Uuid& id) const {
  if (slots_.empty()) return false;
  return slots_[probe(id, tag_of(id))].tag != 0;
}

bool UuidSet::insert(const Uuid& id) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const std::uint64_t tag = tag_of(id);
  Slot& slot = slots_[probe(id, tag)];
  if (slot.tag != 0) return false;
  slot = Slot{tag, id};
  ++size_;
  return true;
}

bool UuidSet::erase(const Uuid& id) {
  if (slots_.empty()) return false;
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = probe(id, tag_of(id));
  if (slots_[hole].tag == 0) return false;
  // Backward shift (no tombstones): every entry after the hole, up to the next empty
  // slot, whose home slot is not between the hole and itself moves into the hole, so
  // each entry stays reachable by probing from its home.
  for (std::size_t next = (hole + 1) & mask; slots_[next].tag != 0; next = (next + 1) & mask) {
    const std::size_t home = slots_[next].tag & mask;
    if (((next - home) & mask) >= ((next - hole) & mask)) {
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  slots_[hole].tag = 0;
  --size_;
  return true;
}

void UuidSet::grow() {
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(slots_.empty() ? kFirstSlots : slots_.size() * 2));
  for (const Slot& slot : old)
    if (slot.tag != 0) slots_[probe(slot.id, slot.tag)] = slot;
}

}  // namespace datafold::net::detail
