// The replay cache and what it is built on: SipHash and the flat id set.
#include "services/replay_cache.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "core/siphash.hpp"
#include "core/uuid_set.hpp"
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

// ------------------------------------------------------------------ UuidSet

// Random inserts and erases against std::set, with a fixed key so a failure replays.
// The ids share their first bytes and a small table wraps often, so probe chains
// are long and erasing from their middle (the backward shift) is exercised.
TEST(UuidSet, AgreesWithAnOrderedSetThroughInsertsAndErases) {
  detail::UuidSet set(detail::SipKey{1, 2});
  std::set<Uuid> model;
  std::mt19937_64 random(7);
  const auto some_id = [&] {
    std::array<std::uint8_t, Uuid::kSize> bytes{};
    bytes[15] = static_cast<std::uint8_t>(random() % 200);
    bytes[14] = static_cast<std::uint8_t>(random() % 3);
    return Uuid(bytes);
  };
  for (int step = 0; step < 20'000; ++step) {
    const Uuid id = some_id();
    if (random() % 3 == 0) {
      EXPECT_EQ(set.erase(id), model.erase(id) == 1) << "step " << step;
    } else {
      EXPECT_EQ(set.insert(id), model.insert(id).second) << "step " << step;
    }
    ASSERT_EQ(set.size(), model.size()) << "step " << step;
  }
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 200; ++b) {
      std::array<std::uint8_t, Uuid::kSize> bytes{};
      bytes[14] = static_cast<std::uint8_t>(a);
      bytes[15] = static_cast<std::uint8_t>(b);
      EXPECT_EQ(set.contains(Uuid(bytes)), model.contains(Uuid(bytes)));
    }
  }
}

TEST(UuidSet, TheAllZeroIdIsAnIdLikeAnyOther) {
  detail::UuidSet set;
  const Uuid zero;
  EXPECT_FALSE(set.contains(zero));
  EXPECT_TRUE(set.insert(zero));
  EXPECT_FALSE(set.insert(zero));
  EXPECT_TRUE(set.contains(zero));
  EXPECT_TRUE(set.erase(zero));
  EXPECT_FALSE(set.erase(zero));
  EXPECT_EQ(set.size(), 0u);
}

TEST(UuidSet, StaysAtMostHalfFull) {
  detail::UuidSet set;
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(set.insert(Uuid::random()));
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
