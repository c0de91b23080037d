#include "core/uuid_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace datafold::net::detail {
namespace {

TEST(UuidTable, AgreesWithAnOrderedMapThroughInsertsAndErases) {
  UuidTable<std::string> table;
  std::map<Uuid, std::string> expected;
  std::vector<Uuid> ids;
  std::mt19937 pick(7);
  for (int step = 0; step < 20000; ++step) {
    // Grows to a few thousand entries, then churns: inserts and erases interleaved,
    // so backward shifts run through long and wrapped-around clusters.
    const bool insert = ids.empty() || (step < 4000 ? pick() % 4 != 0 : pick() % 2 == 0);
    if (insert) {
      const Uuid id = Uuid::random();
      auto [value, inserted] = table.try_emplace(id);
      ASSERT_TRUE(inserted);
      *value = "value " + std::to_string(step);
      expected[id] = *value;
      ids.push_back(id);
    } else {
      const std::size_t i = pick() % ids.size();
      EXPECT_TRUE(table.erase(ids[i]));
      EXPECT_FALSE(table.erase(ids[i]));
      expected.erase(ids[i]);
      ids[i] = ids.back();
      ids.pop_back();
    }
    ASSERT_EQ(table.size(), expected.size());
  }
  for (const auto& [id, value] : expected) {
    const std::string* found = table.find(id);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, value);
  }
  EXPECT_EQ(table.find(Uuid::random()), nullptr);
}

TEST(UuidTable, AnIdAlreadyThereIsNotReplaced) {
  UuidTable<int> table;
  const Uuid id = Uuid::random();
  *table.try_emplace(id).first = 1;
  auto [value, inserted] = table.try_emplace(id);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(*value, 1);
  EXPECT_EQ(table.size(), 1u);
}

TEST(UuidTable, IdsThatDifferOnlyInTheirLastBytesAreKeptApart) {
  UuidTable<int> table;
  std::vector<Uuid> ids;
  for (int i = 0; i < 300; ++i) {
    std::array<std::uint8_t, Uuid::kSize> bytes{};
    bytes[6] = 0x40;
    bytes[8] = 0x80;
    bytes[14] = static_cast<std::uint8_t>(i >> 8);
    bytes[15] = static_cast<std::uint8_t>(i);
    ids.emplace_back(bytes);
    *table.try_emplace(ids.back()).first = i;
  }
  for (int i = 0; i < 300; ++i) {
    const int* found = table.find(ids[static_cast<std::size_t>(i)]);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, i);
  }
}

TEST(UuidTable, TakeAllEmptiesTheTableAndForEachSeesEveryEntry) {
  UuidTable<int> table;
  EXPECT_TRUE(table.take_all().empty());
  EXPECT_EQ(table.find(Uuid::random()), nullptr);
  EXPECT_FALSE(table.erase(Uuid::random()));
  for (int i = 0; i < 50; ++i) *table.try_emplace(Uuid::random()).first = i;
  int sum = 0;
  table.for_each([&](const Uuid&, int value) { sum += value; });
  EXPECT_EQ(sum, 49 * 50 / 2);
  auto all = table.take_all();
  EXPECT_EQ(all.size(), 50u);
  EXPECT_TRUE(table.empty());
  table.for_each([](const Uuid&, int) { ADD_FAILURE() << "an entry left after take_all"; });
  *table.try_emplace(all.front().first).first = 7;  // usable again
  EXPECT_EQ(*table.find(all.front().first), 7);
}

}  // namespace
}  // namespace datafold::net::detail
