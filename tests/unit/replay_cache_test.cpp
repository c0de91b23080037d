// The replay cache and what it is built on: SipHash and the flat fingerprint set.
#include "services/replay_cache.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "core/siphash.hpp"
#include "core/fingerprint_set.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net {
namespace {

// ------------------------------------------------------------------ SipHash

// The reference vectors (the paper's appendix and its vectors.h): key 00..0f,
// message 00 01 02 ... of the given length.
TEST(SipHash, MatchesTheReferenceVectors) {
  const detail::SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  std::array<std::uint8_t, 16> message{};
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(detail::siphash24(key, std::span(message.data(), 0)), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(detail::siphash24(key, std::span(message.data(), 15)), 0xa129ca6149be45e5ULL);
}

TEST(SipHash, TheKeyChangesEveryHash) {
  const Uuid id = Uuid::random();
  EXPECT_NE(detail::siphash24(detail::random_sip_key(), id.bytes()),
            detail::siphash24(detail::random_sip_key(), id.bytes()));
}

// ------------------------------------------------------------------ FingerprintSet

// Random inserts and erases against std::set. The fingerprints differ only in a few
// low bits and a small table wraps often, so probe chains are long and erasing from
// their middle (the backward shift) is exercised.
TEST(FingerprintSet, AgreesWithAnOrderedSetThroughInsertsAndErases) {
  detail::FingerprintSet set;
  std::set<std::uint64_t> model;
  std::mt19937_64 random(7);
  const auto some_fingerprint = [&] { return detail::FingerprintSet::fingerprint(random() % 600); };
  for (int step = 0; step < 20'000; ++step) {
    const std::uint64_t fingerprint = some_fingerprint();
    if (random() % 3 == 0) {
      EXPECT_EQ(set.erase(fingerprint), model.erase(fingerprint) == 1) << "step " << step;
    } else {
      EXPECT_EQ(set.insert(fingerprint), model.insert(fingerprint).second) << "step " << step;
    }
    ASSERT_EQ(set.size(), model.size()) << "step " << step;
  }
  for (std::uint64_t low = 0; low < 600; ++low) {
    const std::uint64_t fingerprint = detail::FingerprintSet::fingerprint(low);
    EXPECT_EQ(set.contains(fingerprint), model.contains(fingerprint)) << low;
  }
}

TEST(FingerprintSet, StaysAtMostHalfFull) {
  detail::FingerprintSet set;
  std::mt19937_64 random(11);
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(set.insert(detail::FingerprintSet::fingerprint(random())));
    ASSERT_LE(set.size() * 2, set.slot_count());
  }
  EXPECT_EQ(set.size(), 10'000u);
}

// ------------------------------------------------------------------ ReplayCache

TEST(ReplayCache, RefusesAnIdItHasSeen) {
  detail::ReplayCache cache(std::chrono::milliseconds(1000), 16);
  const Uuid a = Uuid::random();
  const Uuid b = Uuid::random();
  EXPECT_TRUE(cache.remember(a, 0));
  EXPECT_FALSE(cache.remember(a, 10));
  EXPECT_TRUE(cache.remember(b, 10));
  EXPECT_FALSE(cache.remember(b, 999));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ReplayCache, APrefetchChangesNothingItRemembers) {
  detail::ReplayCache cache(std::chrono::milliseconds(1000), 16);
  detail::ReplayCache other(std::chrono::milliseconds(1000), 16);
  const Uuid a = Uuid::random();
  cache.prefetch(a);  // before the table exists: nothing to load
  EXPECT_TRUE(cache.remember(a, 0));
  cache.prefetch(a);
  EXPECT_FALSE(cache.remember(a, 1));
  // Another cache (another key) hashes the id for itself, after this one just did.
  other.prefetch(a);
  EXPECT_TRUE(other.remember(a, 1));
  EXPECT_FALSE(other.remember(a, 2));
  const Uuid b = Uuid::random();
  cache.prefetch(b);
  EXPECT_TRUE(other.remember(b, 2));
  EXPECT_TRUE(cache.remember(b, 2));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(other.size(), 2u);
}

TEST(ReplayCache, ForgetsIdsAfterTheRetention) {
  detail::ReplayCache cache(std::chrono::milliseconds(1000), 16);
  const Uuid a = Uuid::random();
  EXPECT_TRUE(cache.remember(a, 0));
  EXPECT_FALSE(cache.remember(a, 999));
  EXPECT_TRUE(cache.remember(a, 1000));  // expired at 0 + 1000
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ReplayCache, MemoryIsBoundedAndTheOldestGoFirst) {
  detail::ReplayCache cache(std::chrono::hours(1), 4);
  std::vector<Uuid> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(Uuid::random());
    EXPECT_TRUE(cache.remember(ids.back(), i));
    EXPECT_LE(cache.size(), 4u);
  }
  // The newest four are still refused; the first was evicted to make room.
  for (int i = 996; i < 1000; ++i) EXPECT_FALSE(cache.remember(ids[static_cast<std::size_t>(i)], 1000));
  EXPECT_TRUE(cache.remember(ids[0], 1000));
}

// At the capacity QueryService uses, ids keep coming and going (by age and by room)
// without one still remembered being forgotten or one forgotten being refused.
TEST(ReplayCache, AtFullCapacityEveryRememberedIdIsRefusedAndNoOtherIs) {
  constexpr std::size_t kCapacity = 4096;
  detail::ReplayCache cache(std::chrono::milliseconds(3000), kCapacity);
  std::vector<Uuid> ids;
  for (int i = 0; i < 20'000; ++i) {
    ids.push_back(Uuid::random());
    ASSERT_TRUE(cache.remember(ids.back(), i / 2));  // two ids per ms: capacity binds first
  }
  EXPECT_EQ(cache.size(), kCapacity);
  const std::int64_t now = 20'000 / 2;
  for (std::size_t i = ids.size() - kCapacity; i < ids.size(); ++i) EXPECT_FALSE(cache.remember(ids[i], now));
  for (std::size_t i = 0; i < 100; ++i) EXPECT_TRUE(cache.remember(ids[i], now));
}

}  // namespace
}  // namespace datafold::net
