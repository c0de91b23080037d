// Real LAN behaviour: five hosts, each a network namespace running `datafold node`
// as its own process, joined by veth pairs to a bridge. Discovery goes over real
// multicast and broadcast; cables are cut and restored; processes are killed.
#include "support/virtual_lan.hpp"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include <gtest/gtest.h>

#include "netsim/node_process.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;
constexpr int kLanHosts = 5;

class NetsimLan : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    lan_ = VirtualLan::create(kLanHosts, why_not);
    if (!lan_) GTEST_SKIP() << "netsim needs Linux network namespaces: " << why_not;
    char pattern[] = "/tmp/datafold-netsim-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    options_.network = "netsim-" + std::to_string(::getpid());
    for (int i = 0; i < kLanHosts; ++i)
      nodes_.emplace_back(*lan_, i, dir_ + "/host" + std::to_string(i), options_);
  }
  void TearDown() override {
    for (auto& node : nodes_) node.kill(SIGTERM);
    lan_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  void start_all() {
    for (auto& node : nodes_) ASSERT_TRUE(node.start()) << node.log_tail();
    for (auto& node : nodes_) ids_.push_back(*node.node_id());
  }
  // Every running node (except `skip`) knows exactly the other running nodes.
  bool all_know_each_other(int skip = -1) {
    for (int i = 0; i < kLanHosts; ++i) {
      if (i == skip) continue;
      auto known = nodes_[i].known_ids();
      for (int j = 0; j < kLanHosts; ++j) {
        if (j == i || j == skip) continue;
        if (std::find(known.begin(), known.end(), ids_[j]) == known.end()) return false;
      }
    }
    return true;
  }
  bool nobody_knows(int host) {
    for (int i = 0; i < kLanHosts; ++i) {
      if (i == host) continue;
      auto known = nodes_[i].known_ids();
      if (std::find(known.begin(), known.end(), ids_[host]) != known.end()) return false;
    }
    return true;
  }
  void expect_query_ok(int from, int to) {
    auto reply = nodes_[from].query(ids_[to], "UserProfile", {"username"});
    ASSERT_TRUE(reply) << "no HTTP reply from host " << from;
    ASSERT_TRUE(reply->contains("data")) << "host " << from << " -> " << to << ": " << reply->dump();
    const auto& results = (*reply)["data"]["results"];
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0]["field"], "username");
    EXPECT_TRUE(results[0].contains("value")) << results.dump();
  }

  std::unique_ptr<VirtualLan> lan_;
  std::string dir_;
  LanNodeOptions options_;
  std::vector<LanNode> nodes_;
  std::vector<std::string> ids_;
};

TEST_F(NetsimLan, FiveHostsFindAndQueryEachOtherThenSurviveACutCable) {
  start_all();
  const auto last_started = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return all_know_each_other(); }, 2s))
      << "not every node knew every other within 2 s of the last start";
  std::cout << "[ netsim ] " << kLanHosts << " hosts converged "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - last_started).count()
            << " ms after the last start\n";

  for (int i = 0; i < kLanHosts; ++i)
    for (int j = 0; j < kLanHosts; ++j)
      if (i != j) expect_query_ok(i, j);

  // Cut host 4's cable: the others stop hearing it and drop it after the expiry
  // (3 announcement intervals) — and its connections die on missed pongs.
  ASSERT_TRUE(lan_->set_link(4, false));
  const auto expiry = 3 * options_.announce_interval;
  EXPECT_TRUE(eventually([&] { return nobody_knows(4); }, expiry + 10s));
  // Restore it: its next announcement brings it back.
  ASSERT_TRUE(lan_->set_link(4, true));
  EXPECT_TRUE(eventually([&] { return all_know_each_other(); }, 10s));
  expect_query_ok(0, 4);
  expect_query_ok(4, 0);
}

TEST_F(NetsimLan, KilledNodeFailsFastIsUnreachableAndReturnsAfterRestart) {
  start_all();
  ASSERT_TRUE(eventually([&] { return all_know_each_other(); }, 5s));
  expect_query_ok(0, 3);  // host 0 now holds a connection to host 3

  nodes_[3].kill(SIGKILL);
  auto failed = nodes_[0].query(ids_[3], "UserProfile", {"username"});
  ASSERT_TRUE(failed);
  EXPECT_TRUE(failed->contains("error")) << failed->dump();
  EXPECT_TRUE(eventually([&] { return nodes_[0].health_of(ids_[3]) == std::optional<std::string>("unreachable"); }, 5s))
      << "health is " << nodes_[0].health_of(ids_[3]).value_or("(not known)");

  // Same data dir, so the same identity: found again, and queries work.
  ASSERT_TRUE(nodes_[3].start()) << nodes_[3].log_tail();
  EXPECT_EQ(*nodes_[3].node_id(), ids_[3]);
  EXPECT_TRUE(eventually([&] { return all_know_each_other(); }, 10s));
  EXPECT_TRUE(eventually([&] { return nodes_[0].health_of(ids_[3]) == std::optional<std::string>("healthy"); }, 10s));
  expect_query_ok(0, 3);
  expect_query_ok(3, 0);
}

}  // namespace
}  // namespace datafold::net::testing
