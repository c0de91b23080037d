#include "transport/memory_budget.hpp"

#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

constexpr std::size_t kMiB = 1u << 20;

TEST(MemoryBudget, ShareIsAnEvenSplitWithAOneMebibyteFloorAndNeverAboveTheTotal) {
  EXPECT_EQ(MemoryBudget::peer_share_for(256 * kMiB, 128), 2 * kMiB);
  EXPECT_EQ(MemoryBudget::peer_share_for(8 * kMiB, 128), kMiB);
  EXPECT_EQ(MemoryBudget::peer_share_for(512 * 1024, 128), 512u * 1024);
  EXPECT_EQ(MemoryBudget::peer_share_for(64 * kMiB, 0), 64 * kMiB);
  MemoryBudget budget(256 * kMiB, 128);
  EXPECT_EQ(budget.total(), 256 * kMiB);
  EXPECT_EQ(budget.peer_share(), 2 * kMiB);
}

TEST(MemoryBudget, TryChargeRefusesWhatWouldPassTheTotalAndChargesNothingThen) {
  MemoryBudget budget(1000, 1);
  EXPECT_TRUE(budget.try_charge(600));
  EXPECT_FALSE(budget.try_charge(401));
  EXPECT_EQ(budget.in_use(), 600u);
  EXPECT_FALSE(budget.spent());
  EXPECT_TRUE(budget.try_charge(400));
  EXPECT_TRUE(budget.spent());
  EXPECT_FALSE(budget.try_charge(1));
  EXPECT_FALSE(budget.try_charge(static_cast<std::size_t>(-1)));
  budget.release(1000);
  EXPECT_EQ(budget.in_use(), 0u);
  EXPECT_EQ(budget.peak(), 1000u);
}

TEST(MemoryBudget, ForcedChargeCountsBytesAlreadyHeldAndTheyShowInThePeak) {
  MemoryBudget budget(1000, 1);
  ASSERT_TRUE(budget.try_charge(900));
  budget.charge(300);
  EXPECT_EQ(budget.in_use(), 1200u);
  EXPECT_EQ(budget.peak(), 1200u);
  EXPECT_TRUE(budget.spent());
  budget.release(1200);
  EXPECT_FALSE(budget.spent());
  EXPECT_EQ(budget.peak(), 1200u);
}

TEST(MemoryBudget, AccountsReleaseWhatTheyHoldAndKnowTheirShare) {
  MemoryBudget budget(4 * kMiB, 4);  // share 1 MiB
  {
    BudgetAccount a(&budget);
    BudgetAccount b(&budget);
    EXPECT_TRUE(a.try_charge(kMiB - 1));
    EXPECT_FALSE(a.over_share());
    a.charge(1);
    EXPECT_TRUE(a.over_share());
    EXPECT_TRUE(b.try_charge(3 * kMiB));
    EXPECT_TRUE(b.budget_spent());
    EXPECT_FALSE(b.try_charge(1));
    EXPECT_EQ(b.held(), 3 * kMiB);
    b.release(10 * kMiB);  // never more than it holds
    EXPECT_EQ(b.held(), 0u);
    EXPECT_EQ(budget.in_use(), kMiB);
  }
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(MemoryBudget, AnAccountWithoutABudgetCountsAndNeverRefuses) {
  BudgetAccount account(nullptr);
  EXPECT_TRUE(account.try_charge(1u << 30));
  EXPECT_FALSE(account.over_share());
  EXPECT_FALSE(account.budget_spent());
  EXPECT_EQ(account.held(), 1u << 30);
}

TEST(MemoryBudget, ConcurrentChargesNeverPassTheTotal) {
  MemoryBudget budget(100'000, 1);
  std::vector<std::thread> threads;
  std::atomic<std::size_t> charged{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i)
        if (budget.try_charge(7)) charged += 7;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_LE(budget.peak(), budget.total());
  EXPECT_EQ(budget.in_use(), charged.load());
  EXPECT_GT(charged.load(), 100'000u - 7);
}

TEST(MemoryBudget, AHoldChargesFromAnyThreadAndReleasesTheRestWhenDestroyed) {
  auto budget = std::make_shared<MemoryBudget>(100'000, 1);
  {
    BudgetHold hold(budget);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 1'000; ++i) {
          hold.charge(10);
          if (i % 2 == 0) hold.release(10);
        }
      });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(hold.held(), 20'000u);
    EXPECT_EQ(budget->in_use(), 20'000u);
    EXPECT_FALSE(hold.try_charge(80'001));  // past the total: refused, nothing charged
    EXPECT_TRUE(hold.try_charge(80'000));
    hold.release(1'000'000);  // never more than it holds
    EXPECT_EQ(budget->in_use(), 0u);
    hold.charge(500);
  }
  EXPECT_EQ(budget->in_use(), 0u);
  BudgetHold uncounted(nullptr);
  EXPECT_TRUE(uncounted.try_charge(1u << 30));
  EXPECT_EQ(uncounted.held(), 1u << 30);
}

}  // namespace
}  // namespace datafold::net::detail
