#include "peers/peer_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "datafold/net/identity.hpp"

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Ids whose order the test chooses: id(1) < id(2) < ...
NodeId id(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes{};
  bytes.fill(n);
  return NodeId(bytes);
}

// The connections the table asks about: what a node would read off its sockets.
struct FakeLinks {
  std::map<LinkId, LinkFacts> facts;
  LinkFacts get(LinkId link) const {
    auto it = facts.find(link);
    return it == facts.end() ? LinkFacts{} : it->second;
  }
  void open(LinkId link, PeerTime last_activity, bool idle = true) {
    facts[link] = {ConnectionState::Open, idle, last_activity};
  }
};

// Steady and wall time advance together; nothing here sleeps.
struct FakeClock {
  PeerTime now = PeerTime{} + 1000h;
  WallTime wall = WallTime{} + std::chrono::hours(24 * 365 * 50);
  void advance(milliseconds d) {
    now += d;
    wall += d;
  }
  void advance_to(PeerTime t) {
    if (t > now) advance(std::chrono::duration_cast<milliseconds>(t - now));
  }
};

class PeerTableTest : public ::testing::Test {
 protected:
  PeerTableConfig config() {
    PeerTableConfig c;
    c.self = self_;
    c.links.max_connections = 3;
    c.links.max_connections_per_ip = 2;
    c.links.max_evictions_in_progress = 8;
    c.links.max_handshakes_over_cap = 2;
    c.redial = {.initial = 1'000ms, .ceiling = 8'000ms};
    c.redial_max_attempts = 3;
    c.max_addressless_known = 2;
    c.wall_clock = [this] { return clock_.wall; };
    c.random_seed = 42;
    c.link_facts = [this](LinkId link) { return links_.get(link); };
    return c;
  }
  void make(PeerTableConfig c) {
    table_ = std::make_unique<PeerTable>(std::move(c));
    table_->start();
  }
  void SetUp() override { make(config()); }

  static NodeInfo node_at(const NodeId& node, const std::string& address) {
    NodeInfo info;
    info.node_id = node;
    info.address = address;
    return info;
  }
  // An outbound connection to `peer` through `address` that authenticated.
  Adoption dialled(LinkId link, const NodeId& peer, const std::string& address) {
    links_.open(link, clock_.now);
    AuthenticatedLink a;
    a.link = link;
    a.peer = peer;
    a.remote_ip = "10.0.0.9";
    a.dialled_address = address;
    return table_->on_authenticated(a);
  }
  // An inbound connection from `ip` that was admitted and authenticated.
  Adoption accepted(LinkId link, const NodeId& peer, const std::string& ip, std::uint16_t listen_port = 0) {
    EXPECT_TRUE(table_->admit_inbound(ip)) << ip;
    links_.open(link, clock_.now);
    AuthenticatedLink a;
    a.link = link;
    a.peer = peer;
    a.inbound = true;
    a.remote_ip = ip;
    a.listen_port = listen_port;
    return table_->on_authenticated(a);
  }
  LinkClosure close(LinkId link, bool failed, const std::string& reason = "connection reset") {
    links_.facts[link].state = ConnectionState::Closed;
    return table_->on_link_closed(link, failed, reason, clock_.now);
  }
  NodeInfo known(const NodeId& node) {
    auto info = table_->find(node);
    EXPECT_TRUE(info.has_value());
    return info.value_or(NodeInfo{});
  }
  // A connection to `peer` is open, and then fails: the redial it orders.
  RedialOrder lose_dialled_peer(const NodeId& peer, LinkId link) {
    table_->add_known(node_at(peer, "10.0.0.9:9000"));
    EXPECT_EQ(dialled(link, peer, "10.0.0.9:9000").verdict, Adoption::Verdict::Adopted);
    auto closure = close(link, true);
    EXPECT_TRUE(closure.peer_gone);
    EXPECT_TRUE(closure.redial.has_value());
    return closure.redial.value_or(RedialOrder{});
  }
  // Runs the dial a redial order asks for, failing it.
  DialFailure fail_dial(const NodeId& peer) {
    auto plan = table_->plan_connection(peer, clock_.now);
    EXPECT_EQ(plan.kind, ConnectionPlan::Kind::Dial) << plan.error.message;
    EXPECT_EQ(table_->end_dial(plan.ticket), peer);
    return table_->on_dial_failed(peer, make_error(ErrorKind::Connection, "connection refused"), clock_.now);
  }

  NodeId self_ = id(50);
  FakeClock clock_;
  FakeLinks links_;
  std::unique_ptr<PeerTable> table_;
};

// ------------------------------------------------------------------ admission

TEST_F(PeerTableTest, AdmitsInboundSocketsUntilTheCapThenRefuses) {
  EXPECT_TRUE(table_->admit_inbound("10.0.0.1"));
  EXPECT_TRUE(table_->admit_inbound("10.0.0.2"));
  EXPECT_TRUE(table_->admit_inbound("10.0.0.3"));
  // Three handshakes under way fill a cap of 3, and there is no idle connection to evict.
  EXPECT_FALSE(table_->admit_inbound("10.0.0.4"));
  table_->inbound_handshake_failed("10.0.0.1");
  EXPECT_TRUE(table_->admit_inbound("10.0.0.4"));
}

TEST_F(PeerTableTest, RefusesPastThePerIpCapButNotLoopback) {
  auto c = config();
  c.links.max_connections = 100;
  make(c);
  EXPECT_TRUE(table_->admit_inbound("10.0.0.1"));
  EXPECT_TRUE(table_->admit_inbound("10.0.0.1"));
  EXPECT_FALSE(table_->admit_inbound("10.0.0.1"));
  EXPECT_TRUE(table_->admit_inbound("10.0.0.2"));  // another IP has its own count
  for (const char* loopback : {"127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"})
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(table_->admit_inbound(loopback)) << loopback << " #" << i;
  // A failed handshake gives its IP's place back.
  table_->inbound_handshake_failed("10.0.0.1");
  EXPECT_TRUE(table_->admit_inbound("10.0.0.1"));
}

TEST_F(PeerTableTest, AClosedInboundConnectionGivesItsIpPlaceBack) {
  auto c = config();
  c.links.max_connections = 100;
  make(c);
  ASSERT_EQ(accepted(1, id(1), "10.0.0.1").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(accepted(2, id(2), "10.0.0.1").verdict, Adoption::Verdict::Adopted);
  EXPECT_FALSE(table_->admit_inbound("10.0.0.1"));
  close(1, false);
  EXPECT_TRUE(table_->admit_inbound("10.0.0.1"));
}

TEST_F(PeerTableTest, AtTheCapAHandshakeMayProceedOnlyWhileAnIdleConnectionCouldMakeRoom) {
  ASSERT_EQ(dialled(1, id(1), "10.0.0.1:9000").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(dialled(2, id(2), "10.0.0.2:9000").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(dialled(3, id(3), "10.0.0.3:9000").verdict, Adoption::Verdict::Adopted);
  for (LinkId link : {1, 2, 3}) links_.facts[link].idle = false;
  EXPECT_FALSE(table_->admit_inbound("10.0.0.4")) << "full, and nothing idle";
  links_.facts[2].idle = true;
  EXPECT_TRUE(table_->admit_inbound("10.0.0.4"));
  EXPECT_TRUE(table_->admit_inbound("10.0.0.5"));
  EXPECT_FALSE(table_->admit_inbound("10.0.0.6")) << "max_handshakes_over_cap is 2";
}

// ------------------------------------------------------------------ adoption, eviction

TEST_F(PeerTableTest, AFullNodeEvictsTheIdleConnectionUsedLongestAgo) {
  ASSERT_EQ(dialled(1, id(1), "10.0.0.1:9000").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(dialled(2, id(2), "10.0.0.2:9000").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(dialled(3, id(3), "10.0.0.3:9000").verdict, Adoption::Verdict::Adopted);
  links_.open(1, clock_.now - 10s);
  links_.open(2, clock_.now - 30s);  // used longest ago
  links_.open(3, clock_.now - 20s);

  auto adoption = dialled(4, id(4), "10.0.0.4:9000");
  ASSERT_EQ(adoption.verdict, Adoption::Verdict::Adopted);
  EXPECT_EQ(adoption.use, 4u);
  EXPECT_EQ(adoption.evict, std::optional<LinkId>(2));
  EXPECT_FALSE(adoption.retire);

  // The one being evicted is not chosen twice while it closes.
  auto next = dialled(5, id(5), "10.0.0.5:9000");
  ASSERT_EQ(next.verdict, Adoption::Verdict::Adopted);
  EXPECT_EQ(next.evict, std::optional<LinkId>(3));
}

TEST_F(PeerTableTest, NeverEvictsABusyConnection) {
  ASSERT_EQ(dialled(1, id(1), "10.0.0.1:9000").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(dialled(2, id(2), "10.0.0.2:9000").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(dialled(3, id(3), "10.0.0.3:9000").verdict, Adoption::Verdict::Adopted);
  links_.open(1, clock_.now - 30s, /*idle=*/false);  // oldest, but a request is in flight
  links_.open(2, clock_.now - 20s, false);
  links_.open(3, clock_.now - 10s, false);
  EXPECT_EQ(dialled(4, id(4), "10.0.0.4:9000").verdict, Adoption::Verdict::Full);
  EXPECT_EQ(table_->link_count(), 3u);
  EXPECT_FALSE(table_->find(id(4))) << "a refused connection teaches nothing";

  links_.open(3, clock_.now - 10s, true);  // the newest goes idle: it is the only candidate
  auto adoption = dialled(4, id(4), "10.0.0.4:9000");
  ASSERT_EQ(adoption.verdict, Adoption::Verdict::Adopted);
  EXPECT_EQ(adoption.evict, std::optional<LinkId>(3));
}

TEST_F(PeerTableTest, ARefusedInboundConnectionGivesItsIpPlaceBack) {
  for (LinkId link : {1, 2, 3}) {
    ASSERT_EQ(dialled(link, id(static_cast<std::uint8_t>(link)), "10.0.0.1:900" + std::to_string(link)).verdict,
              Adoption::Verdict::Adopted);
    links_.open(link, clock_.now, /*idle=*/true);
  }
  // Admitted past the cap because something is idle; by the time it authenticates nothing is.
  ASSERT_TRUE(table_->admit_inbound("10.0.0.7"));
  ASSERT_TRUE(table_->admit_inbound("10.0.0.7"));
  for (LinkId link : {1, 2, 3}) links_.facts[link].idle = false;
  AuthenticatedLink a;
  a.link = 9;
  a.peer = id(9);
  a.inbound = true;
  a.remote_ip = "10.0.0.7";
  EXPECT_EQ(table_->on_authenticated(a).verdict, Adoption::Verdict::Full);
  table_->inbound_handshake_failed("10.0.0.7");
  for (LinkId link : {1, 2, 3}) links_.facts[link].idle = true;
  EXPECT_TRUE(table_->admit_inbound("10.0.0.7")) << "both places of 10.0.0.7 should be free again";
}

TEST_F(PeerTableTest, RefusesAConnectionToItselfAndEverythingOnceStopped) {
  EXPECT_EQ(dialled(1, self_, "10.0.0.1:9000").verdict, Adoption::Verdict::Self);
  table_->stop();
  EXPECT_EQ(dialled(2, id(2), "10.0.0.2:9000").verdict, Adoption::Verdict::Stopped);
  auto plan = table_->plan_connection(id(2), clock_.now);
  EXPECT_EQ(plan.kind, ConnectionPlan::Kind::Fail);
  EXPECT_EQ(plan.error.kind, ErrorKind::Connection);
  EXPECT_FALSE(table_->begin_address_dial());
}

// ------------------------------------------------------------------ simultaneous dials

// Two nodes dial each other at once; each ends up with two connections and must keep
// the same one as the other: the one the smaller id dialled.
struct TwoTables {
  NodeId small = id(10), large = id(20);
  FakeClock clock;
  FakeLinks small_links, large_links;
  PeerTable small_table{config_for(small, small_links)}, large_table{config_for(large, large_links)};

  PeerTableConfig config_for(const NodeId& self, FakeLinks& links) {
    PeerTableConfig c;
    c.self = self;
    c.random_seed = 1;
    c.link_facts = [&links](LinkId link) { return links.get(link); };
    return c;
  }
  TwoTables() {
    small_table.start();
    large_table.start();
  }
  static Adoption adopt(PeerTable& table, FakeLinks& links, LinkId link, const NodeId& peer, bool inbound,
                        PeerTime now) {
    links.open(link, now);
    AuthenticatedLink a;
    a.link = link;
    a.peer = peer;
    a.inbound = inbound;
    a.remote_ip = "127.0.0.1";
    if (inbound) EXPECT_TRUE(table.admit_inbound("127.0.0.1"));
    else a.dialled_address = "127.0.0.1:9000";
    return table.on_authenticated(a);
  }
};

TEST(PeerTableTieBreak, BothSidesKeepTheConnectionTheSmallerIdDialledWhicheverArrivesFirst) {
  for (bool dialled_first : {true, false}) {
    SCOPED_TRACE(dialled_first ? "own dial authenticates first" : "the peer's dial authenticates first");
    TwoTables t;
    // Connection X: small dialled large (link 1 at small, link 2 at large).
    // Connection Y: large dialled small (link 3 at large, link 4 at small).
    Adoption small_first, small_second, large_first, large_second;
    if (dialled_first) {
      small_first = TwoTables::adopt(t.small_table, t.small_links, 1, t.large, false, t.clock.now);
      small_second = TwoTables::adopt(t.small_table, t.small_links, 4, t.large, true, t.clock.now);
      large_first = TwoTables::adopt(t.large_table, t.large_links, 3, t.small, false, t.clock.now);
      large_second = TwoTables::adopt(t.large_table, t.large_links, 2, t.small, true, t.clock.now);
    } else {
      small_first = TwoTables::adopt(t.small_table, t.small_links, 4, t.large, true, t.clock.now);
      small_second = TwoTables::adopt(t.small_table, t.small_links, 1, t.large, false, t.clock.now);
      large_first = TwoTables::adopt(t.large_table, t.large_links, 2, t.small, true, t.clock.now);
      large_second = TwoTables::adopt(t.large_table, t.large_links, 3, t.small, false, t.clock.now);
    }
    ASSERT_EQ(small_second.verdict, Adoption::Verdict::Adopted);
    ASSERT_EQ(large_second.verdict, Adoption::Verdict::Adopted);
    EXPECT_FALSE(small_first.retire);
    EXPECT_FALSE(large_first.retire);
    // Both keep X and retire Y.
    EXPECT_EQ(small_second.use, 1u);
    EXPECT_EQ(small_second.retire, std::optional<LinkId>(4));
    EXPECT_EQ(large_second.use, 2u);
    EXPECT_EQ(large_second.retire, std::optional<LinkId>(3));
    EXPECT_EQ(t.small_table.link_for(t.large), std::optional<LinkId>(1));
    EXPECT_EQ(t.large_table.link_for(t.small), std::optional<LinkId>(2));
    // The retired one closing says nothing about the peer.
    t.small_links.facts[4].state = ConnectionState::Closed;
    EXPECT_FALSE(t.small_table.on_link_closed(4, false, "superseded", t.clock.now).peer_gone);
    EXPECT_EQ(t.small_table.connected(), std::vector<NodeId>{t.large});
  }
}

TEST_F(PeerTableTest, ADuplicateNeedsNoRoomEvenAtTheCap) {
  ASSERT_EQ(dialled(1, id(1), "10.0.0.1:9000").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(dialled(2, id(2), "10.0.0.2:9000").verdict, Adoption::Verdict::Adopted);
  ASSERT_EQ(dialled(3, id(3), "10.0.0.3:9000").verdict, Adoption::Verdict::Adopted);
  // id(3) dials us too (admitted while something was idle; by the time it has
  // authenticated nothing is). We (50) are larger, so its dial is the keeper.
  ASSERT_TRUE(table_->admit_inbound("127.0.0.1"));
  for (LinkId link : {1, 2, 3}) links_.facts[link].idle = false;
  links_.open(4, clock_.now);
  AuthenticatedLink a;
  a.link = 4;
  a.peer = id(3);
  a.inbound = true;
  a.remote_ip = "127.0.0.1";
  auto adoption = table_->on_authenticated(a);
  ASSERT_EQ(adoption.verdict, Adoption::Verdict::Adopted);
  EXPECT_FALSE(adoption.evict);
  EXPECT_EQ(adoption.use, 4u);
  EXPECT_EQ(adoption.retire, std::optional<LinkId>(3));
}

// ------------------------------------------------------------------ redial

TEST_F(PeerTableTest, ALostDialledPeerIsRedialledAtTimeTWithGrowingBackoff) {
  auto c = config();
  c.redial_max_attempts = 10;
  make(c);
  const NodeId peer = id(1);
  RedialOrder order = lose_dialled_peer(peer, 1);
  EXPECT_EQ(known(peer).health, NodeHealth::Unreachable);
  // initial 1 s, ±50 %.
  EXPECT_GE(order.at - clock_.now, 500ms);
  EXPECT_LE(order.at - clock_.now, 1'500ms);

  // Requests before T fail at once, saying why and for how long.
  auto early = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(early.kind, ConnectionPlan::Kind::Fail);
  EXPECT_EQ(early.error.kind, ErrorKind::Connection);
  EXPECT_NE(early.error.message.find("connection reset"), std::string::npos) << early.error.message;
  EXPECT_NE(early.error.message.find("next dial in"), std::string::npos) << early.error.message;

  // Each failed redial doubles the delay (±50 %) up to the 8 s ceiling.
  const milliseconds expected_base[] = {2'000ms, 4'000ms, 8'000ms, 8'000ms};
  for (auto base : expected_base) {
    clock_.advance_to(order.at);
    ASSERT_TRUE(table_->redial_due(peer, order.generation));
    auto failure = fail_dial(peer);
    ASSERT_TRUE(failure.redial) << "attempt " << failure.failures;
    EXPECT_GE(failure.redial->at - clock_.now, base / 2) << "after " << failure.failures << " failures";
    EXPECT_LE(failure.redial->at - clock_.now, base * 3 / 2) << "after " << failure.failures << " failures";
    EXPECT_EQ(known(peer).failed_dials, failure.failures);
    order = *failure.redial;
  }
}

TEST_F(PeerTableTest, OnlyTheNewestRedialOrderRuns) {
  const NodeId peer = id(1);
  const RedialOrder first = lose_dialled_peer(peer, 1);
  // A fresh announcement orders a redial at once, superseding the first.
  NodeInfo announced = node_at(peer, "10.0.0.9:9000");
  auto second = table_->on_announced(announced, AddressSource::Lan, clock_.now);
  ASSERT_TRUE(second);
  EXPECT_FALSE(table_->redial_due(peer, first.generation));
  EXPECT_TRUE(table_->redial_due(peer, second->generation));
  // Dialling already: the timer has nothing to do.
  auto plan = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(plan.kind, ConnectionPlan::Kind::Dial);
  EXPECT_FALSE(table_->redial_due(peer, second->generation));
  // Connected meanwhile: nothing either.
  (void)table_->end_dial(plan.ticket);
  ASSERT_EQ(dialled(2, peer, "10.0.0.9:9000").verdict, Adoption::Verdict::Adopted);
  EXPECT_FALSE(table_->redial_due(peer, second->generation));
}

TEST_F(PeerTableTest, AnAnnouncementResetsTheBackoffAndOrdersARedialAtOnce) {
  const NodeId peer = id(1);
  RedialOrder order = lose_dialled_peer(peer, 1);
  clock_.advance_to(order.at);
  auto failure = fail_dial(peer);
  ASSERT_TRUE(failure.redial);
  EXPECT_EQ(known(peer).failed_dials, 2u);

  NodeInfo announced = node_at(peer, "10.0.0.9:9000");
  announced.trust_distance = 4;
  auto redial = table_->on_announced(announced, AddressSource::Lan, clock_.now);
  ASSERT_TRUE(redial);
  EXPECT_EQ(redial->at, clock_.now);
  const auto info = known(peer);
  EXPECT_EQ(info.health, NodeHealth::Healthy);
  EXPECT_EQ(info.failed_dials, 0u);
  EXPECT_EQ(info.trust_distance, 4u);
  EXPECT_EQ(table_->plan_connection(peer, clock_.now).kind, ConnectionPlan::Kind::Dial) << "no wait any more";
}

TEST_F(PeerTableTest, GivesUpAfterMaxAttemptsUntilHeardFromAgain) {
  const NodeId peer = id(1);
  RedialOrder order = lose_dialled_peer(peer, 1);  // failure 1
  DialFailure failure;
  for (int i = 0; i < 2; ++i) {  // failures 2, 3: still within redial_max_attempts = 3
    clock_.advance_to(order.at);
    failure = fail_dial(peer);
    ASSERT_TRUE(failure.redial) << "failure " << failure.failures;
    order = *failure.redial;
  }
  clock_.advance_to(order.at);
  failure = fail_dial(peer);  // failure 4
  EXPECT_TRUE(failure.gave_up);
  EXPECT_FALSE(failure.redial);
  EXPECT_FALSE(table_->redial_due(peer, order.generation));
  EXPECT_TRUE(table_->find(peer)) << "given up on, not forgotten";

  // Heard from again: chased again.
  EXPECT_FALSE(table_->on_announced(node_at(peer, "10.0.0.9:9000"), AddressSource::Lan, clock_.now))
      << "no redial is wanted any more, so none is ordered";
  EXPECT_EQ(table_->plan_connection(peer, clock_.now).kind, ConnectionPlan::Kind::Dial);
}

TEST_F(PeerTableTest, NeverGivesUpOnABootstrapPeer) {
  const NodeId peer = id(1);
  auto ticket = table_->begin_address_dial();
  ASSERT_TRUE(ticket);
  ASSERT_EQ(dialled(1, peer, "10.0.0.9:9000").verdict, Adoption::Verdict::Adopted);
  EXPECT_EQ(table_->end_dial(*ticket), std::nullopt);
  table_->on_bootstrap_connected("10.0.0.9:9000", peer);
  auto closure = close(1, true);
  ASSERT_TRUE(closure.redial);
  RedialOrder order = *closure.redial;
  for (int i = 0; i < 20; ++i) {
    clock_.advance_to(order.at);
    ASSERT_TRUE(table_->redial_due(peer, order.generation)) << "redial " << i;
    auto failure = fail_dial(peer);
    ASSERT_FALSE(failure.gave_up) << "failure " << failure.failures;
    ASSERT_TRUE(failure.redial);
    EXPECT_LE(failure.redial->at - clock_.now, 12'000ms) << "the ceiling (8 s) +50 %";
    order = *failure.redial;
  }
}

TEST_F(PeerTableTest, ABootstrapAddressThatNeverAnsweredBacksOffToo) {
  const auto first = table_->on_bootstrap_failed("10.0.0.9:9000", clock_.now);
  EXPECT_GE(first, 500ms);
  EXPECT_LE(first, 1'500ms);
  const auto second = table_->on_bootstrap_failed("10.0.0.9:9000", clock_.now);
  EXPECT_GE(second, 1'000ms);
  EXPECT_LE(second, 3'000ms);
  EXPECT_LE(table_->on_bootstrap_failed("10.0.0.8:9000", clock_.now), 1'500ms) << "each address has its own";
}

TEST_F(PeerTableTest, APeerThatDialledInIsNotRedialled) {
  const NodeId peer = id(1);
  ASSERT_EQ(accepted(1, peer, "10.0.0.7", 9000).verdict, Adoption::Verdict::Adopted);
  auto closure = close(1, true);
  EXPECT_TRUE(closure.peer_gone);
  EXPECT_FALSE(closure.redial);
  EXPECT_EQ(known(peer).health, NodeHealth::Unreachable);
}

TEST_F(PeerTableTest, AConnectionClosedByOurChoiceLeavesThePeerAlone) {
  const NodeId peer = id(1);
  table_->add_known(node_at(peer, "10.0.0.9:9000"));
  ASSERT_EQ(dialled(1, peer, "10.0.0.9:9000").verdict, Adoption::Verdict::Adopted);
  auto closure = close(1, /*failed=*/false);
  EXPECT_TRUE(closure.peer_gone);
  EXPECT_FALSE(closure.redial);
  EXPECT_EQ(known(peer).health, NodeHealth::Healthy);
}

TEST_F(PeerTableTest, ANewAddressEndsTheWait) {
  const NodeId peer = id(1);
  (void)lose_dialled_peer(peer, 1);
  ASSERT_EQ(table_->plan_connection(peer, clock_.now).kind, ConnectionPlan::Kind::Fail);
  table_->add_known(node_at(peer, "10.0.0.9:9000"));
  EXPECT_EQ(table_->plan_connection(peer, clock_.now).kind, ConnectionPlan::Kind::Fail) << "the same address";
  table_->add_known(node_at(peer, "10.0.0.10:9000"));
  auto plan = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(plan.kind, ConnectionPlan::Kind::Dial);
  // The one that worked before still goes first; the new one next.
  EXPECT_EQ(plan.addresses, (std::vector<std::string>{"10.0.0.9:9000", "10.0.0.10:9000"}));
}

TEST_F(PeerTableTest, ClearingConnectionsAfterAStopForgetsRedialsButNotNodes) {
  const NodeId peer = id(1);
  const RedialOrder order = lose_dialled_peer(peer, 1);
  table_->stop();
  EXPECT_FALSE(table_->redial_due(peer, order.generation));
  table_->clear_connections();
  table_->start();
  EXPECT_FALSE(table_->redial_due(peer, order.generation));
  EXPECT_TRUE(table_->find(peer));
  EXPECT_EQ(table_->plan_connection(peer, clock_.now).kind, ConnectionPlan::Kind::Dial) << "no backoff left";
}

// ------------------------------------------------------------------ plans and known nodes

TEST_F(PeerTableTest, PlansUseTheOpenConnectionJoinADialOrFail) {
  const NodeId peer = id(1);
  auto unknown = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(unknown.kind, ConnectionPlan::Kind::Fail);
  EXPECT_EQ(unknown.error.kind, ErrorKind::Discovery);

  table_->add_known(node_at(peer, "10.0.0.9:9000"));
  auto dial = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(dial.kind, ConnectionPlan::Kind::Dial);
  auto join = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(join.kind, ConnectionPlan::Kind::Join);
  EXPECT_EQ(join.ticket, dial.ticket);

  ASSERT_EQ(dialled(7, peer, "10.0.0.9:9000").verdict, Adoption::Verdict::Adopted);
  EXPECT_EQ(table_->end_dial(dial.ticket), peer);
  auto use = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(use.kind, ConnectionPlan::Kind::Use);
  EXPECT_EQ(use.link, 7u);
  // Closed but not yet reported so: not usable, so dial again.
  links_.facts[7].state = ConnectionState::Closed;
  EXPECT_EQ(table_->plan_connection(peer, clock_.now).kind, ConnectionPlan::Kind::Dial);
}

TEST_F(PeerTableTest, AddKnownIgnoresAKeyThatIsNotTheIds) {
  auto other = Identity::generate();
  ASSERT_TRUE(other);
  NodeInfo info = node_at(id(1), "10.0.0.9:9000");
  info.public_key = other->public_key();
  table_->add_known(info);
  EXPECT_FALSE(table_->find(id(1)));
}

TEST_F(PeerTableTest, TheLanLosingANodeForgetsItOrWaitsForItsConnection) {
  NodeInfo a = node_at(id(1), "10.0.0.1:9000"), b = node_at(id(2), "10.0.0.2:9000");
  (void)table_->on_announced(a, AddressSource::Lan, clock_.now);
  (void)table_->on_announced(b, AddressSource::Lan, clock_.now);
  ASSERT_EQ(dialled(1, id(2), "10.0.0.2:9000").verdict, Adoption::Verdict::Adopted);
  table_->on_lan_lost(id(1));
  table_->on_lan_lost(id(2));
  EXPECT_FALSE(table_->find(id(1)));
  EXPECT_TRUE(table_->find(id(2))) << "still connected";
  EXPECT_TRUE(close(1, true).peer_gone);
  EXPECT_FALSE(table_->find(id(2))) << "gone with its connection";
}

TEST_F(PeerTableTest, AddresslessPeersAreRememberedOnlySoMany) {
  // One-shot clients: they dial in and give no listen port. max_addressless_known = 2.
  for (std::uint8_t n = 1; n <= 3; ++n) {
    clock_.advance(1s);
    ASSERT_EQ(accepted(n, id(n), "127.0.0.1").verdict, Adoption::Verdict::Adopted);
    close(n, false);
  }
  EXPECT_EQ(table_->known_count(), 2u);
  EXPECT_FALSE(table_->find(id(1))) << "the one seen longest ago goes";
  EXPECT_TRUE(table_->find(id(2)));
  EXPECT_TRUE(table_->find(id(3)));
}

TEST_F(PeerTableTest, PastTheLimitAddresslessPeersAreForgottenOldestFirstDownToAnEighthBelowIt) {
  // Forgetting in batches is what keeps a node serving many one-shot clients from
  // scanning every known peer as each leaves.
  auto c = config();
  c.links.max_connections = 64;
  c.max_addressless_known = 16;
  make(std::move(c));
  // Seen before all the others, but still connected: never forgotten.
  ASSERT_EQ(accepted(30, id(30), "127.0.0.1").verdict, Adoption::Verdict::Adopted);
  for (std::uint8_t n = 1; n <= 16; ++n) {
    clock_.advance(1s);
    ASSERT_EQ(accepted(n, id(n), "127.0.0.1").verdict, Adoption::Verdict::Adopted);
    close(n, false);
  }
  EXPECT_EQ(table_->known_count(), 17u) << "16 gone, within the limit, and the connected one";
  clock_.advance(1s);
  ASSERT_EQ(accepted(17, id(17), "127.0.0.1").verdict, Adoption::Verdict::Adopted);
  close(17, false);
  // The 17th went past 16: down to 14, the three seen longest ago forgotten.
  EXPECT_EQ(table_->known_count(), 15u);
  for (std::uint8_t n = 1; n <= 17; ++n) EXPECT_EQ(table_->find(id(n)).has_value(), n > 3) << "peer " << int(n);
  EXPECT_TRUE(table_->find(id(30)));
}

TEST_F(PeerTableTest, AnInboundPeerIsKnownAtItsIpAndListenPortAsAGuess) {
  ASSERT_EQ(accepted(1, id(1), "::ffff:10.0.0.7", 9100).verdict, Adoption::Verdict::Adopted);
  auto info = known(id(1));
  ASSERT_EQ(info.addresses.size(), 1u);
  EXPECT_EQ(info.addresses[0].address, "10.0.0.7:9100");
  EXPECT_EQ(info.addresses[0].source, AddressSource::Inbound);
  EXPECT_EQ(info.addresses[0].last_success, WallTime{}) << "nobody dialled it";
  EXPECT_EQ(info.address, "10.0.0.7:9100");

  ASSERT_EQ(accepted(2, id(2), "fe80::1%eth0", 9100).verdict, Adoption::Verdict::Adopted);
  EXPECT_EQ(known(id(2)).address, "[fe80::1%eth0]:9100");
}

TEST_F(PeerTableTest, WhichAddressNextFollowsSuccessThenSource) {
  const NodeId peer = id(1);
  NodeInfo info;
  info.node_id = peer;
  info.addresses = {{"10.9.0.1:9000", AddressSource::Relay},
                    {"10.0.0.1:9000", AddressSource::Manual},
                    {"10.0.0.2:9000", AddressSource::Inbound}};
  table_->add_known(info);
  NodeInfo lan = node_at(peer, "");
  lan.addresses = {{"192.168.1.5:9000", AddressSource::Lan}, {"[fe80::5%eth0]:9000", AddressSource::Lan}};
  (void)table_->on_announced(lan, AddressSource::Lan, clock_.now);
  auto plan = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(plan.kind, ConnectionPlan::Kind::Dial);
  EXPECT_EQ(plan.addresses, (std::vector<std::string>{"192.168.1.5:9000", "[fe80::5%eth0]:9000", "10.0.0.1:9000",
                                                      "10.0.0.2:9000", "10.9.0.1:9000"}));
  (void)table_->end_dial(plan.ticket);

  // The manual address answers: it goes first from now on, and says so.
  clock_.advance(1s);
  ASSERT_EQ(dialled(1, peer, "10.0.0.1:9000").verdict, Adoption::Verdict::Adopted);
  auto now_known = known(peer);
  ASSERT_FALSE(now_known.addresses.empty());
  EXPECT_EQ(now_known.address, "10.0.0.1:9000");
  EXPECT_EQ(now_known.addresses.front().source, AddressSource::Manual);
  EXPECT_EQ(now_known.addresses.front().last_success, clock_.wall);
  close(1, false);
  auto next = table_->plan_connection(peer, clock_.now);
  ASSERT_EQ(next.kind, ConnectionPlan::Kind::Dial);
  EXPECT_EQ(next.addresses.front(), "10.0.0.1:9000");
}

TEST_F(PeerTableTest, AFreshAnnouncementReplacesTheAddressesItGaveBefore) {
  const NodeId peer = id(1);
  NodeInfo first = node_at(peer, "");
  first.addresses = {{"192.168.1.5:9000", AddressSource::Lan}, {"192.168.2.5:9000", AddressSource::Lan}};
  (void)table_->on_announced(first, AddressSource::Lan, clock_.now);
  table_->add_known(node_at(peer, "10.0.0.1:9000"));
  NodeInfo moved = node_at(peer, "192.168.3.5:9000");  // address only, as an old announcer sends
  clock_.advance(1s);
  (void)table_->on_announced(moved, AddressSource::Lan, clock_.now);
  auto info = known(peer);
  std::vector<std::string> addresses;
  for (const auto& a : info.addresses) addresses.push_back(a.address);
  EXPECT_EQ(addresses, (std::vector<std::string>{"192.168.3.5:9000", "10.0.0.1:9000"}))
      << "the LAN's old addresses go; the manual one stays";
}

TEST_F(PeerTableTest, AnAddressDialledByAddressIsKnownByItsSourceAndSucceeded) {
  auto ticket = table_->begin_address_dial();
  ASSERT_TRUE(ticket);
  links_.open(1, clock_.now);
  AuthenticatedLink a;
  a.link = 1;
  a.peer = id(1);
  a.remote_ip = "10.0.0.9";
  a.listen_port = 9000;
  a.dialled_address = "10.0.0.9:9000";
  a.dialled_source = AddressSource::Bootstrap;
  ASSERT_EQ(table_->on_authenticated(a).verdict, Adoption::Verdict::Adopted);
  EXPECT_FALSE(table_->end_dial(*ticket));
  auto info = known(id(1));
  ASSERT_EQ(info.addresses.size(), 1u);
  EXPECT_EQ(info.addresses[0].source, AddressSource::Bootstrap);
  EXPECT_EQ(info.addresses[0].last_success, clock_.wall);
  EXPECT_EQ(info.health, NodeHealth::Healthy);
}

}  // namespace
}  // namespace datafold::net::detail
