#include "core/fingerprint_set.hpp"

#include <cassert>
#include <utility>

namespace datafold::net::detail {

std::size_t FingerprintSet::probe(std::uint64_t fingerprint) const noexcept {
  assert((fingerprint & kMark) != 0);
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = fingerprint & mask;
  // Terminates: the table is never more than half full, so an empty slot exists.
  while (slots_[i] != 0 && slots_[i] != fingerprint) i = (i + 1) & mask;
  return i;
}

bool FingerprintSet::contains(std::uint64_t fingerprint) const {
  if (slots_.empty()) return false;
  return slots_[probe(fingerprint)] != 0;
}

bool FingerprintSet::insert(std::uint64_t fingerprint) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  std::uint64_t& slot = slots_[probe(fingerprint)];
  if (slot != 0) return false;
  slot = fingerprint;
  ++size_;
  return true;
}

bool FingerprintSet::erase(std::uint64_t fingerprint) {
  if (slots_.empty()) return false;
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = probe(fingerprint);
  if (slots_[hole] == 0) return false;
  // Backward shift (no tombstones): every entry after the hole, up to the next empty
  // slot, whose home slot is not between the hole and itself moves into the hole, so
  // each entry stays reachable by probing from its home.
  for (std::size_t next = (hole + 1) & mask; slots_[next] != 0; next = (next + 1) & mask) {
    const std::size_t home = slots_[next] & mask;
    if (((next - home) & mask) >= ((next - hole) & mask)) {
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  slots_[hole] = 0;
  --size_;
  return true;
}

void FingerprintSet::grow() {
  std::vector<std::uint64_t> old =
      std::exchange(slots_, std::vector<std::uint64_t>(slots_.empty() ? kFirstSlots : slots_.size() * 2));
  for (const std::uint64_t fingerprint : old)
    if (fingerprint != 0) slots_[probe(fingerprint)] = fingerprint;
}

}  // namespace datafold::net::detail
