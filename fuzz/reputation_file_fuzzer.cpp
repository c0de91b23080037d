// libFuzzer target for the reputation file (src/peers/reputation_file.cpp): each
// input is the file's text, read as a node reads it at start and restored into a
// Reputation with a small size bound.
//
// Invariants: every line is an entry or counted as skipped, never both or neither
// for a non-comment line; what was read serializes to text that reads back to the
// same entries with nothing skipped; the restored Reputation holds no more entries
// than its bound and no score outside its range.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "peers/reputation_file.hpp"

namespace {

using namespace datafold::net::detail;

void check(bool ok) {
  if (!ok) std::abort();
}

bool same(const Reputation::Entry& a, const Reputation::Entry& b) {
  return a.subject == b.subject && a.is_node == b.is_node && a.score == b.score && a.updated == b.updated &&
         a.banned_until == b.banned_until;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto read = parse_reputation(text);

  const auto again = parse_reputation(serialize_reputation(read.entries));
  check(again.skipped_lines == 0);
  check(again.entries.size() == read.entries.size());
  for (std::size_t i = 0; i < read.entries.size(); ++i) check(same(again.entries[i], read.entries[i]));

  ReputationPolicy policy;
  policy.max_entries = 16;
  Reputation reputation(policy);
  const auto now = Reputation::Clock::time_point{} + std::chrono::hours(24 * 365 * 57);
  reputation.restore(read.entries, now);
  const auto kept = reputation.entries();
  // Running bans are kept past the bound; anything else goes.
  std::size_t banned = 0;
  for (const auto& entry : kept) {
    check(std::isfinite(entry.score) && entry.score >= policy.min_score && entry.score <= policy.max_score);
    if (entry.banned_until && now < *entry.banned_until) ++banned;
  }
  check(kept.size() <= std::max(policy.max_entries, banned));
  return 0;
}
