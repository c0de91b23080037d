// RoundRobinQueue: sources take turns, so a backlog does not delay another source's
// next item by more than a turn; sources with nothing waiting are forgotten.
#include "core/round_robin_queue.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

TEST(RoundRobinQueue, AFloodersBacklogDelaysAnotherSourceByOneTurnOnly) {
  RoundRobinQueue<std::string, int> queue;
  for (int i = 0; i < 1000; ++i) queue.push("flooder", i);
  queue.push("resident", -1);
  EXPECT_EQ(queue.pop(), 0);
  EXPECT_EQ(queue.pop(), -1) << "the resident's item comes next, not after the other 999";
  EXPECT_EQ(queue.pop(), 1);
  EXPECT_EQ(queue.size(), 998u);
  EXPECT_EQ(queue.sources(), 1u) << "the resident, with nothing waiting, is forgotten";
}

TEST(RoundRobinQueue, EachSourceKeepsItsOwnOrderAndTurnsRotate) {
  RoundRobinQueue<int, std::string> queue;
  queue.push(1, "a1");
  queue.push(1, "a2");
  queue.push(2, "b1");
  queue.push(3, "c1");
  queue.push(2, "b2");
  std::vector<std::string> order;
  while (auto item = queue.pop()) order.push_back(*item);
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "b1", "c1", "a2", "b2"}));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.sources(), 0u);
  EXPECT_FALSE(queue.pop());
}

TEST(RoundRobinQueue, ASourceThatEmptiedAndReturnsJoinsAtTheBack) {
  RoundRobinQueue<int, int> queue;
  queue.push(1, 10);
  queue.push(2, 20);
  queue.push(2, 21);
  EXPECT_EQ(queue.pop(), 10);
  queue.push(1, 11);  // back after 2
  EXPECT_EQ(queue.pop(), 20);
  EXPECT_EQ(queue.pop(), 11);
  EXPECT_EQ(queue.pop(), 21);
}

TEST(RoundRobinQueue, ATurnTakesAtMostItsCapOfOneSourcesItems) {
  RoundRobinQueue<std::string, int> queue;
  for (int i = 0; i < 5; ++i) queue.push("busy", i);
  queue.push("other", 100);
  std::vector<int> turn;
  EXPECT_EQ(queue.pop_turn(3, turn), 3u);
  EXPECT_EQ(turn, (std::vector<int>{0, 1, 2})) << "the busy source's oldest three, in order";
  turn.clear();
  EXPECT_EQ(queue.pop_turn(3, turn), 1u);
  EXPECT_EQ(turn, (std::vector<int>{100})) << "the other source's turn comes before the busy one's rest";
  turn.clear();
  EXPECT_EQ(queue.pop_turn(0, turn), 1u) << "a turn takes at least one item";
  EXPECT_EQ(queue.pop_turn(8, turn), 1u);
  EXPECT_EQ(turn, (std::vector<int>{3, 4}));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.sources(), 0u);
  EXPECT_EQ(queue.pop_turn(8, turn), 0u);
}

}  // namespace
}  // namespace datafold::net::detail
