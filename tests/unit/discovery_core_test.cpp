#include "discovery/lan/discovery_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "datafold.pb.h"

namespace datafold::net::discovery {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

Identity core_identity() {
  auto identity = Identity::generate();
  EXPECT_TRUE(identity.ok());
  return std::move(identity).value();
}

std::span<const std::uint8_t> core_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Steady and wall time advance together; nothing in these tests sleeps.
struct FakeClock {
  TimePoint now = TimePoint{} + 1000h;
  std::int64_t wall_ms = 1'700'000'000'000;

  void advance(milliseconds d) {
    now += d;
    wall_ms += d.count();
  }
  void advance_to(TimePoint t) {
    if (t > now) advance(std::chrono::duration_cast<milliseconds>(t - now));
  }
};

constexpr const char* kNetwork = "lab";

// A remote node that builds its own datagrams, so each test says exactly what arrives.
struct Peer {
  Identity identity = core_identity();
  Uuid instance = Uuid::random();
  std::uint64_t sequence = 0;
  std::uint16_t tcp_port = 9000;
  std::vector<std::string> addresses;
  std::string network = kNetwork;

  AnnouncementFields fields(const FakeClock& clock, std::uint32_t ttl = 90) {
    AnnouncementFields f;
    f.tcp_port = tcp_port;
    f.addresses = addresses;
    f.network_name = network;
    f.instance_id = instance;
    f.sequence = ++sequence;
    f.timestamp_ms = clock.wall_ms;
    f.ttl_seconds = ttl;
    return f;
  }
  std::string announce(const FakeClock& clock, DatagramKind kind = DatagramKind::Announcement) {
    return encode_datagram(fields(clock), identity, kind);
  }
  std::string goodbye(const FakeClock& clock) { return encode_datagram(fields(clock, 0), identity); }
  void restart() {
    instance = Uuid::random();
    sequence = 0;
  }
  const NodeId& id() const { return identity.node_id(); }
};

struct Sent {
  Destination destination;
  std::string datagram;
};

class DiscoveryCoreTest : public ::testing::Test {
 protected:
  DiscoveryConfig base_config() {
    DiscoveryConfig config{.identity = local_};
    config.network_name = kNetwork;
    config.tcp_port = 9000;
    config.wall_clock = [this] { return clock_.wall_ms; };
    config.random = [this] { return random_value_; };
    config.on_event = [this](NodeEvent e, const NodeInfo& n) { events_.emplace_back(e, n.node_id); };
    return config;
  }
  DiscoveryCore& make_core(DiscoveryConfig config) {
    core_ = std::make_unique<DiscoveryCore>(std::move(config), [this](const Destination& d, const std::string& b) {
      sent_.push_back({d, b});
    });
    return *core_;
  }
  DiscoveryCore& make_core() { return make_core(base_config()); }

  void receive(const std::string& datagram, const std::string& ip = "10.0.0.2", std::uint16_t port = 9001) {
    core_->on_datagram(ip, port, core_bytes(datagram), clock_.now);
  }
  bool knows(const NodeId& id) const { return core_->known_nodes().contains(id); }

  Identity local_ = core_identity();
  FakeClock clock_;
  std::uint64_t random_value_ = 0;
  std::vector<Sent> sent_;
  std::vector<std::pair<NodeEvent, NodeId>> events_;
  std::unique_ptr<DiscoveryCore> core_;
};

TEST_F(DiscoveryCoreTest, ValidAnnouncementIsListedWithWhatItSaid) {
  auto& core = make_core();
  Peer peer;
  receive(peer.announce(clock_), "10.0.0.2");

  const auto nodes = core.known_nodes();
  ASSERT_EQ(nodes.size(), 1u);
  const NodeInfo& info = nodes.at(peer.id());
  EXPECT_EQ(info.node_id, peer.id());
  EXPECT_EQ(info.public_key, peer.identity.public_key());
  EXPECT_EQ(info.address, "10.0.0.2:9000");
  EXPECT_EQ(info.health, NodeHealth::Healthy);
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(info.last_seen.time_since_epoch()).count(), clock_.wall_ms);
  EXPECT_EQ(core.counters().received, 1u);
  EXPECT_EQ(core.counters().accepted, 1u);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0], std::make_pair(NodeEvent::Discovered, peer.id()));
}

TEST_F(DiscoveryCoreTest, ForgedSignatureIsIgnoredAndCounted) {
  auto& core = make_core();
  Peer victim, mallory;
  // The victim's announcement bytes, with Mallory's signature over them.
  wire::SignedAnnouncement s;
  ASSERT_TRUE(s.ParseFromString(sign_announcement(victim.fields(clock_), victim.identity)));
  const std::string body = s.announcement();
  const auto forged = mallory.identity.sign(core_bytes(body));
  s.set_signature(forged.data(), forged.size());
  receive(frame_datagram(DatagramKind::Announcement, s.SerializeAsString()));

  EXPECT_TRUE(core.known_nodes().empty());
  EXPECT_EQ(core.counters().bad_signature, 1u);
  EXPECT_EQ(core.counters().accepted, 0u);
  EXPECT_TRUE(events_.empty());
}

TEST_F(DiscoveryCoreTest, ReputationRefusesBannedSendersAndNodesAndHearsOfForgeries) {
  std::vector<std::string> banned_ips{"10.0.0.66"};
  Peer banned_node, good, victim, mallory;
  std::vector<std::string> forgers;
  auto config = base_config();
  std::size_t asked = 0;
  config.refuse_sender = [&](std::string_view ip) {
    ++asked;
    return std::find(banned_ips.begin(), banned_ips.end(), ip) != banned_ips.end();
  };
  config.refuse_node = [&](const NodeId& id) { return id == banned_node.id(); };
  config.on_forged = [&](std::string_view ip) { forgers.emplace_back(ip); };
  auto& core = make_core(std::move(config));

  receive(good.announce(clock_), "10.0.0.66");  // a good node's bytes, from a banned host
  EXPECT_FALSE(knows(good.id()));
  EXPECT_EQ(core.counters().banned, 1u);
  EXPECT_EQ(core.counters().malformed + core.counters().bad_signature, 0u) << "dropped before parsing";
  receive(banned_node.announce(clock_), "10.0.0.3");
  EXPECT_FALSE(knows(banned_node.id()));
  EXPECT_EQ(core.counters().banned, 2u);
  receive(good.announce(clock_), "10.0.0.4");
  EXPECT_TRUE(knows(good.id()));

  wire::SignedAnnouncement s;
  ASSERT_TRUE(s.ParseFromString(sign_announcement(victim.fields(clock_), victim.identity)));
  const auto forged = mallory.identity.sign(core_bytes(s.announcement()));
  s.set_signature(forged.data(), forged.size());
  receive(frame_datagram(DatagramKind::Announcement, s.SerializeAsString()), "10.0.0.5");
  EXPECT_EQ(forgers, std::vector<std::string>{"10.0.0.5"}) << "the sender's address, not the claimed id";
  EXPECT_EQ(asked, 4u);

  // A banned node's announcement is dropped before its signature is checked: a
  // broken signature under its id counts as banned, not as a forgery.
  ASSERT_TRUE(s.ParseFromString(sign_announcement(banned_node.fields(clock_), banned_node.identity)));
  s.set_signature(forged.data(), forged.size());
  receive(frame_datagram(DatagramKind::Announcement, s.SerializeAsString()), "10.0.0.6");
  EXPECT_EQ(core.counters().banned, 3u);
  EXPECT_EQ(core.counters().bad_signature, 1u);
  EXPECT_EQ(forgers.size(), 1u);
}

TEST_F(DiscoveryCoreTest, IdThatIsNotTheHashOfTheKeyIsIgnoredAndCounted) {
  auto& core = make_core();
  Peer victim, mallory;
  // Correctly signed by Mallory's key, claiming the victim's id.
  wire::NodeAnnouncement a;
  wire::SignedAnnouncement s;
  ASSERT_TRUE(s.ParseFromString(sign_announcement(mallory.fields(clock_), mallory.identity)));
  ASSERT_TRUE(a.ParseFromString(s.announcement()));
  a.set_node_id(victim.id().bytes().data(), NodeId::kSize);
  a.SerializeToString(s.mutable_announcement());
  const auto signature = mallory.identity.sign(core_bytes(s.announcement()));
  s.set_signature(signature.data(), signature.size());
  receive(frame_datagram(DatagramKind::Announcement, s.SerializeAsString()));

  EXPECT_TRUE(core.known_nodes().empty());
  EXPECT_EQ(core.counters().id_mismatch, 1u);
}

TEST_F(DiscoveryCoreTest, ReplayedAndRepeatedSequencesAreIgnoredAndCounted) {
  auto& core = make_core();
  Peer peer;
  const std::string first = peer.announce(clock_);   // sequence 1
  const std::string second = peer.announce(clock_);  // sequence 2
  receive(second);
  ASSERT_TRUE(knows(peer.id()));

  clock_.advance(1s);
  receive(second);  // the same datagram again (it also arrives via broadcast)
  receive(first);   // an older one
  EXPECT_EQ(core.counters().duplicate, 1u);
  EXPECT_EQ(core.counters().replay, 1u);
  EXPECT_EQ(core.find(peer.id())->sequence, 2u);

  receive(peer.announce(clock_));  // sequence 3: fresh
  EXPECT_EQ(core.counters().accepted, 2u);
  EXPECT_EQ(core.find(peer.id())->sequence, 3u);
}

TEST_F(DiscoveryCoreTest, TimestampOutsideTheSkewWindowIsIgnoredAndCounted) {
  auto& core = make_core();
  Peer early, late, edge;
  FakeClock sender = clock_;

  sender.wall_ms = clock_.wall_ms - 60'001;
  receive(early.announce(sender));
  sender.wall_ms = clock_.wall_ms + 60'001;
  receive(late.announce(sender));
  EXPECT_EQ(core.counters().skew, 2u);
  EXPECT_TRUE(core.known_nodes().empty());

  // Exactly at the window's edge is still inside it.
  sender.wall_ms = clock_.wall_ms - 60'000;
  receive(edge.announce(sender));
  EXPECT_TRUE(knows(edge.id()));

  // Extreme values must not overflow the comparison.
  sender.wall_ms = std::numeric_limits<std::int64_t>::min();
  receive(early.announce(sender));
  sender.wall_ms = std::numeric_limits<std::int64_t>::max();
  receive(late.announce(sender));
  EXPECT_EQ(core.counters().skew, 4u);
}

TEST_F(DiscoveryCoreTest, AnotherNetworksNameIsIgnoredAndCounted) {
  auto& core = make_core();
  Peer stranger;
  stranger.network = "other-lab";
  receive(stranger.announce(clock_));
  EXPECT_TRUE(core.known_nodes().empty());
  EXPECT_EQ(core.counters().other_network, 1u);
}

TEST_F(DiscoveryCoreTest, OwnAnnouncementIsIgnoredAndCounted) {
  auto& core = make_core();
  core.start(clock_.now);
  core.probe(clock_.now);
  ASSERT_EQ(sent_.size(), 2u);
  for (const auto& s : sent_) receive(s.datagram, "10.0.0.1");  // multicast loops back
  EXPECT_TRUE(core.known_nodes().empty());
  EXPECT_EQ(core.counters().own, 2u);
  EXPECT_EQ(core.counters().probe_replies_sent, 0u);
  EXPECT_EQ(core.next_wakeup(), std::optional<TimePoint>{clock_.now + 27s});  // only the periodic announcement
}

TEST_F(DiscoveryCoreTest, EntryExpiresAfterThreeIntervalsAndNotBefore) {
  auto config = base_config();
  config.announcement_interval = 30s;
  auto& core = make_core(std::move(config));
  Peer peer;
  const TimePoint heard = clock_.now;
  receive(peer.announce(clock_));
  EXPECT_EQ(core.next_wakeup(), std::optional<TimePoint>{heard + 90s});

  clock_.advance_to(heard + 90s - 1ms);
  core.on_timer(clock_.now);
  EXPECT_TRUE(knows(peer.id()));
  EXPECT_EQ(core.counters().expired, 0u);

  clock_.advance(1ms);
  core.on_timer(clock_.now);
  EXPECT_FALSE(knows(peer.id()));
  EXPECT_EQ(core.counters().expired, 1u);
  EXPECT_EQ(events_.back(), std::make_pair(NodeEvent::Expired, peer.id()));
}

TEST_F(DiscoveryCoreTest, AnnouncementsAndConnectionPingsKeepAnEntry) {
  auto& core = make_core();
  Peer peer;
  receive(peer.announce(clock_));
  clock_.advance(80s);
  receive(peer.announce(clock_));  // a fresh announcement restarts the lifetime
  clock_.advance(80s);
  core.on_timer(clock_.now);
  ASSERT_TRUE(knows(peer.id()));

  EXPECT_TRUE(core.refresh(peer.id(), clock_.now));  // a live connection's pong
  clock_.advance(89s);
  core.on_timer(clock_.now);
  EXPECT_TRUE(knows(peer.id()));
  clock_.advance(1s);
  core.on_timer(clock_.now);
  EXPECT_FALSE(knows(peer.id()));

  EXPECT_FALSE(core.refresh(peer.id(), clock_.now));
}

TEST_F(DiscoveryCoreTest, ShorterTtlFromTheSenderIsHonoured) {
  auto& core = make_core();
  Peer peer;
  receive(encode_datagram(peer.fields(clock_, 10), peer.identity));
  clock_.advance(10s);
  core.on_timer(clock_.now);
  EXPECT_FALSE(knows(peer.id()));
}

TEST_F(DiscoveryCoreTest, GoodbyeRemovesAtOnceAndCannotBeUndoneByAReplay) {
  auto& core = make_core();
  Peer peer;
  const std::string hello = peer.announce(clock_);
  receive(hello);
  ASSERT_TRUE(knows(peer.id()));

  receive(peer.goodbye(clock_));
  EXPECT_FALSE(knows(peer.id()));
  EXPECT_FALSE(core.find(peer.id()).has_value());
  EXPECT_EQ(core.size(), 0u);
  EXPECT_EQ(core.counters().goodbyes_received, 1u);
  EXPECT_EQ(events_.back(), std::make_pair(NodeEvent::Departed, peer.id()));

  // Someone replays the announcement captured before the goodbye.
  clock_.advance(5s);
  core.on_timer(clock_.now);
  receive(hello);
  EXPECT_FALSE(knows(peer.id()));
  EXPECT_EQ(core.counters().replay, 1u);

  // The node itself coming back (same instance, later sequence) is welcome.
  receive(peer.announce(clock_));
  EXPECT_TRUE(knows(peer.id()));
}

TEST_F(DiscoveryCoreTest, RestartWithNewInstanceIsAcceptedAndTheOldInstanceIsRetired) {
  auto& core = make_core();
  Peer peer;
  for (int i = 0; i < 10; ++i) receive(peer.announce(clock_));
  ASSERT_EQ(core.find(peer.id())->sequence, 10u);
  // Keep a datagram of the old instance that has not been seen yet.
  const std::string old_unseen = peer.announce(clock_);  // sequence 11

  peer.restart();
  const Uuid new_instance = peer.instance;
  clock_.advance(2s);
  receive(peer.announce(clock_));  // sequence 1 again
  auto node = core.find(peer.id());
  ASSERT_TRUE(node.has_value());
  EXPECT_EQ(node->instance_id, new_instance);
  EXPECT_EQ(node->sequence, 1u);
  EXPECT_EQ(events_.back(), std::make_pair(NodeEvent::Updated, peer.id()));

  // The old instance's datagram must not flip the entry back.
  receive(old_unseen);
  EXPECT_EQ(core.counters().replay, 1u);
  EXPECT_EQ(core.find(peer.id())->instance_id, new_instance);
}

TEST_F(DiscoveryCoreTest, ProbeGetsAUnicastReplyAfterTheRandomDelay) {
  auto& core = make_core();
  core.start(clock_.now);
  sent_.clear();
  random_value_ = 37;  // the reply delay is random % 101 ms
  Peer prober;
  const TimePoint probed = clock_.now;
  receive(prober.announce(clock_, DatagramKind::Probe), "10.0.0.7", 40000);

  EXPECT_TRUE(knows(prober.id()));  // the probe is an announcement too
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(core.next_wakeup(), std::optional<TimePoint>{probed + 37ms});

  clock_.advance(36ms);
  core.on_timer(clock_.now);
  EXPECT_TRUE(sent_.empty());

  clock_.advance(1ms);
  core.on_timer(clock_.now);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].destination, Destination::unicast("10.0.0.7", 40000));
  EXPECT_EQ(sent_[0].destination.to_string(), "10.0.0.7:40000");
  const DatagramParse reply = parse_datagram(core_bytes(sent_[0].datagram));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply.kind, DatagramKind::Announcement);
  EXPECT_EQ(reply.fields.node_id, local_.node_id());
  EXPECT_EQ(reply.fields.network_name, kNetwork);
  EXPECT_NE(reply.fields.ttl_seconds, 0u);
  EXPECT_EQ(core.counters().probe_replies_sent, 1u);

  clock_.advance(1s);
  core.on_timer(clock_.now);
  EXPECT_EQ(sent_.size(), 1u);  // answered once
}

TEST_F(DiscoveryCoreTest, ProbeReplyDelayStaysWithin100msForAnyRandomValue) {
  for (std::uint64_t r : {std::uint64_t{0}, std::uint64_t{100}, std::uint64_t{101}, std::uint64_t{12345},
                          std::numeric_limits<std::uint64_t>::max()}) {
    auto& core = make_core();
    core.start(clock_.now);
    sent_.clear();
    random_value_ = r;
    Peer prober;
    receive(prober.announce(clock_, DatagramKind::Probe), "10.0.0.7", 40000);
    const auto wake = core.next_wakeup();
    ASSERT_TRUE(wake.has_value());
    EXPECT_GE(*wake, clock_.now);
    EXPECT_LE(*wake, clock_.now + 100ms) << r;
    clock_.advance(100ms);
    core.on_timer(clock_.now);
    EXPECT_EQ(sent_.size(), 1u) << r;
  }
}

TEST_F(DiscoveryCoreTest, ProbeIsNotAnsweredBeforeStartOrWhenForged) {
  auto& core = make_core();
  Peer prober;
  receive(prober.announce(clock_, DatagramKind::Probe));
  clock_.advance(1s);
  core.on_timer(clock_.now);
  EXPECT_TRUE(sent_.empty());  // not started: listen only

  core.start(clock_.now);
  sent_.clear();
  // A probe with a bad signature must not make us send anything (no reflection).
  std::string forged = prober.announce(clock_, DatagramKind::Probe);
  forged.back() = static_cast<char>(forged.back() ^ 0x40);  // inside the signature
  receive(forged);
  clock_.advance(1s);
  core.on_timer(clock_.now);
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(core.counters().bad_signature, 1u);
}

TEST_F(DiscoveryCoreTest, SignedAnnouncementFromAConnectionIsCheckedTheSameWay) {
  auto& core = make_core();
  core.start(clock_.now);
  sent_.clear();
  Peer peer;
  const std::string datagram = peer.announce(clock_, DatagramKind::Probe);
  const std::string signed_only = datagram.substr(kDatagramHeaderBytes);

  core.on_signed_announcement("10.0.0.2", core_bytes(signed_only), clock_.now);
  const auto node = core.find(peer.id());
  ASSERT_TRUE(node.has_value());
  EXPECT_EQ(node->info.address, "10.0.0.2:9000");
  // The same announcement by UDP is a duplicate: one replay state for both routes.
  receive(datagram);
  EXPECT_EQ(core.counters().duplicate, 1u);
  // Not a probe, however it was framed: no unicast answer, only the
  // first-sight announcement to the group.
  clock_.advance(1s);
  core.on_timer(clock_.now);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].destination, Destination::group());
  EXPECT_EQ(core.counters().probe_replies_sent, 0u);

  // With a header it is not a SignedAnnouncement; a forged one is caught.
  core.on_signed_announcement("10.0.0.2", core_bytes(datagram), clock_.now);
  EXPECT_EQ(core.counters().malformed, 1u);
  Peer other;
  std::string forged = other.announce(clock_).substr(kDatagramHeaderBytes);
  forged.back() = static_cast<char>(forged.back() ^ 1);
  core.on_signed_announcement("10.0.0.3", core_bytes(forged), clock_.now);
  EXPECT_EQ(core.counters().bad_signature, 1u);
  core.on_signed_announcement("10.0.0.3", core_bytes(std::string(kMaxDatagramBytes + 1, 'x')), clock_.now);
  EXPECT_EQ(core.counters().too_large, 1u);
  EXPECT_EQ(core.counters().received, 5u);
  EXPECT_EQ(core.counters().accepted, 1u);
}

TEST_F(DiscoveryCoreTest, RateLimitIsPerSourceAddress) {
  auto& core = make_core();  // 20/s, burst 40
  Peer noisy, quiet;
  std::vector<std::string> datagrams;
  for (int i = 0; i < 61; ++i) datagrams.push_back(noisy.announce(clock_));

  for (int i = 0; i < 45; ++i) receive(datagrams[static_cast<std::size_t>(i)], "10.0.0.2");
  EXPECT_EQ(core.counters().accepted, 40u);
  EXPECT_EQ(core.counters().rate_limited, 5u);

  receive(quiet.announce(clock_), "10.0.0.3");  // another source is not affected
  EXPECT_TRUE(knows(quiet.id()));

  clock_.advance(500ms);  // refills 10 tokens
  for (int i = 45; i < 56; ++i) receive(datagrams[static_cast<std::size_t>(i)], "10.0.0.2");
  EXPECT_EQ(core.counters().accepted, 51u);
  EXPECT_EQ(core.counters().rate_limited, 6u);
  EXPECT_EQ(core.counters().received, 57u);
}

TEST_F(DiscoveryCoreTest, RateLimiterMemoryIsBoundedAndForgetsIdleSources) {
  auto config = base_config();
  config.max_rate_limited_sources = 8;
  auto& core = make_core(std::move(config));
  const std::string junk = "not a datagram";
  for (int i = 0; i < 100; ++i) receive(junk, "10.1.0." + std::to_string(i));
  EXPECT_EQ(core.counters().bad_magic, 8u);
  EXPECT_EQ(core.counters().rate_limited, 92u);

  // Once those buckets have refilled they are forgotten, and new sources get in.
  clock_.advance(1s);
  Peer late;
  receive(late.announce(clock_), "10.2.0.1");
  EXPECT_TRUE(knows(late.id()));
}

TEST_F(DiscoveryCoreTest, UnspecifiedAddressesAreReplacedByTheSource) {
  auto& core = make_core();
  Peer peer;
  peer.tcp_port = 9000;
  peer.addresses = {"0.0.0.0", "192.168.1.5:7000", "[::]:7001", "", "bad host!", "10.9.9.9:0", "fe80::1"};
  receive(peer.announce(clock_), "10.0.0.9");
  const auto node = core.find(peer.id());
  ASSERT_TRUE(node.has_value());
  EXPECT_EQ(node->addresses,
            (std::vector<std::string>{"10.0.0.9:9000", "192.168.1.5:7000", "10.0.0.9:7001", "[fe80::1]:9000"}));
  EXPECT_EQ(node->info.address, "10.0.0.9:9000");
  EXPECT_EQ(node->source, "10.0.0.9:9001");

  Peer silent;  // no addresses at all: the source, on its TCP port
  silent.tcp_port = 9100;
  receive(silent.announce(clock_), "10.0.0.10");
  EXPECT_EQ(core.known_nodes().at(silent.id()).address, "10.0.0.10:9100");

  Peer client_only;  // port 0 and no address: nothing to dial, so not listed
  client_only.tcp_port = 0;
  receive(client_only.announce(clock_), "10.0.0.11");
  EXPECT_FALSE(knows(client_only.id()));
}

TEST_F(DiscoveryCoreTest, ClientProbeWithARunningNodesIdentityIsAnsweredButRetiresNothing) {
  auto& core = make_core();
  core.start(clock_.now);
  Peer node;
  receive(node.announce(clock_), "10.0.0.7");
  ASSERT_TRUE(knows(node.id()));
  // The operator runs a CLI on the node's data dir: same key, another instance, port 0.
  Peer cli = node;
  cli.restart();
  cli.tcp_port = 0;
  sent_.clear();
  receive(cli.announce(clock_, DatagramKind::Probe), "10.0.0.7", 40000);
  clock_.advance(101ms);
  core.on_timer(clock_.now);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].destination, Destination::unicast("10.0.0.7", 40000));
  // The node's own next announcement is still accepted, not taken for a replay.
  const auto replays = core.counters().replay;
  receive(node.announce(clock_), "10.0.0.7");
  EXPECT_EQ(core.counters().replay, replays);
  EXPECT_EQ(core.find(node.id())->instance_id, node.instance);
  EXPECT_EQ(core.known_nodes().at(node.id()).address, "10.0.0.7:9000");
}

TEST_F(DiscoveryCoreTest, TableSizeIsBounded) {
  auto config = base_config();
  config.max_table_size = 3;
  auto& core = make_core(std::move(config));
  std::vector<Peer> peers(4);
  for (int i = 0; i < 4; ++i) receive(peers[static_cast<std::size_t>(i)].announce(clock_), "10.0.1." + std::to_string(i));
  EXPECT_EQ(core.size(), 3u);
  EXPECT_EQ(core.counters().table_full, 1u);
  EXPECT_FALSE(knows(peers[3].id()));
  // Known nodes keep their place: the full table still takes their refreshes.
  receive(peers[0].announce(clock_), "10.0.1.0");
  EXPECT_EQ(core.counters().table_full, 1u);

  // A departed node's slot is reused.
  receive(peers[1].goodbye(clock_), "10.0.1.1");
  receive(peers[3].announce(clock_), "10.0.1.3");
  EXPECT_TRUE(knows(peers[3].id()));
  EXPECT_EQ(core.size(), 3u);
}

TEST_F(DiscoveryCoreTest, FirstSightOfANodeSendsOneExtraAnnouncementAtMostOncePerSecond) {
  auto config = base_config();
  config.probe_on_start = false;
  auto& core = make_core(std::move(config));
  core.start(clock_.now);
  ASSERT_EQ(sent_.size(), 1u);
  sent_.clear();

  Peer a, b, c;
  receive(a.announce(clock_));
  ASSERT_EQ(sent_.size(), 1u);  // at once, for the node we had never seen
  EXPECT_EQ(sent_[0].destination, Destination::group());
  EXPECT_EQ(parse_datagram(core_bytes(sent_[0].datagram)).kind, DatagramKind::Announcement);

  receive(a.announce(clock_));  // known node: nothing
  clock_.advance(100ms);
  receive(b.announce(clock_));
  receive(c.announce(clock_));
  EXPECT_EQ(sent_.size(), 1u);  // rate-limited...
  EXPECT_EQ(core.next_wakeup(), std::optional<TimePoint>{clock_.now + 900ms});

  clock_.advance(900ms);
  core.on_timer(clock_.now);
  EXPECT_EQ(sent_.size(), 2u);  // ...then one for both
  EXPECT_EQ(core.counters().first_sight_announcements_sent, 2u);
}

TEST_F(DiscoveryCoreTest, PeriodicAnnouncementsUseTheIntervalWithTenPercentJitter) {
  for (const auto& [random, expected] : {std::pair{std::uint64_t{0}, 27'000ms},
                                         std::pair{std::numeric_limits<std::uint64_t>::max(), 33'000ms}}) {
    sent_.clear();
    random_value_ = random;
    auto& core = make_core();
    const TimePoint started = clock_.now;
    core.start(started);
    ASSERT_EQ(sent_.size(), 1u);
    EXPECT_EQ(parse_datagram(core_bytes(sent_[0].datagram)).kind, DatagramKind::Probe);
    EXPECT_EQ(core.next_wakeup(), std::optional<TimePoint>{started + expected});

    clock_.advance_to(started + expected - 1ms);
    core.on_timer(clock_.now);
    EXPECT_EQ(sent_.size(), 1u);
    clock_.advance(1ms);
    core.on_timer(clock_.now);
    ASSERT_EQ(sent_.size(), 2u);
    const DatagramParse periodic = parse_datagram(core_bytes(sent_[1].datagram));
    ASSERT_TRUE(periodic.ok());
    EXPECT_EQ(periodic.kind, DatagramKind::Announcement);
    EXPECT_EQ(periodic.fields.ttl_seconds, 90u);
    EXPECT_EQ(periodic.fields.sequence, 2u);
    EXPECT_EQ(periodic.fields.timestamp_ms, clock_.wall_ms);
  }
}

TEST_F(DiscoveryCoreTest, StopSendsAGoodbyeAndGoesQuiet) {
  auto& core = make_core();
  core.start(clock_.now);
  core.stop(clock_.now);
  ASSERT_EQ(sent_.size(), 2u);
  const DatagramParse goodbye = parse_datagram(core_bytes(sent_[1].datagram));
  ASSERT_TRUE(goodbye.ok());
  EXPECT_EQ(goodbye.fields.ttl_seconds, 0u);
  EXPECT_EQ(sent_[1].destination, Destination::group());
  EXPECT_EQ(core.counters().goodbyes_sent, 1u);

  clock_.advance(10min);
  core.on_timer(clock_.now);
  EXPECT_FALSE(core.probe(clock_.now));
  EXPECT_FALSE(core.announce_presence(clock_.now));
  EXPECT_EQ(sent_.size(), 2u);
  EXPECT_FALSE(core.next_wakeup().has_value());
}

TEST_F(DiscoveryCoreTest, HostileBytesAreCountedNeverThrown) {
  auto& core = make_core();
  core.start(clock_.now);
  std::mt19937_64 rng(7);
  std::uint64_t sent = 0;
  std::string big(kMaxDatagramBytes + 1, 'D');
  receive(big);
  ++sent;
  receive(std::string("DFLD\x02", 5));
  ++sent;
  receive(std::string("DFLD\x01\xff\xff", 7));
  ++sent;
  for (int i = 0; i < 30; ++i, ++sent) {
    std::string noise(rng() % 300, '\0');
    for (auto& ch : noise) ch = static_cast<char>(rng());
    if (i % 2 == 0 && noise.size() >= 5) noise.replace(0, 5, std::string("DFLP\x01", 5));
    receive(noise, "10.3.0." + std::to_string(i));
  }
  const auto& c = core.counters();
  EXPECT_EQ(c.received, sent);
  EXPECT_EQ(c.too_large, 1u);
  EXPECT_EQ(c.bad_version, 1u);
  EXPECT_EQ(c.accepted, 0u);
  EXPECT_EQ(c.ignored(), sent);
  EXPECT_GE(c.malformed, 1u);
  EXPECT_TRUE(core.known_nodes().empty());
}

TEST_F(DiscoveryCoreTest, ThrowingSendCallbackIsContained) {
  auto config = base_config();
  config.probe_on_start = false;
  DiscoveryCore core(std::move(config), [](const Destination&, const std::string&) { throw std::runtime_error("boom"); });
  Peer peer;
  EXPECT_THROW(core.start(clock_.now), std::runtime_error);  // start() is the adapter's own call
  // A datagram that makes the core send (first sight) must not throw out of on_datagram.
  EXPECT_NO_THROW(core.on_datagram("10.0.0.2", 9001, core_bytes(peer.announce(clock_)), clock_.now));
  EXPECT_EQ(core.counters().internal_error, 1u);
}

// ------------------------------------------------------------------ an in-memory LAN

// Several cores wired through their send callbacks. Group datagrams reach every
// linked host (the sender too, as multicast loopback does); unicast ones reach
// the host with that IP. Each hop takes 1 ms of fake time.
class Lan {
 public:
  static constexpr std::uint16_t kPort = 9001;

  struct Host {
    std::string ip;
    std::unique_ptr<DiscoveryCore> core;
    bool linked = true;
    std::uint64_t sent_before_window = 0;
  };

  std::size_t add_host(std::chrono::milliseconds interval = 30s) {
    const std::size_t index = hosts_.size();
    DiscoveryConfig config{.identity = core_identity()};
    config.network_name = kNetwork;
    config.tcp_port = 9000;
    config.announcement_interval = interval;
    config.wall_clock = [this] { return clock.wall_ms; };
    auto rng = std::make_shared<std::mt19937_64>(index + 1);
    config.random = [rng] { return (*rng)(); };
    auto core = std::make_unique<DiscoveryCore>(std::move(config), [this, index](const Destination& d,
                                                                                 const std::string& b) {
      if (hosts_[index].linked) wire_.push_back({clock.now + 1ms, index, d, b});
    });
    hosts_.push_back({"10.0.0." + std::to_string(index + 1), std::move(core)});
    return index;
  }

  DiscoveryCore& core(std::size_t i) { return *hosts_[i].core; }
  Host& host(std::size_t i) { return hosts_[i]; }
  std::size_t size() const { return hosts_.size(); }

  // Runs the event loop until `done` holds or `deadline` passes; true if done.
  template <class Done>
  bool run_until(TimePoint deadline, Done done) {
    while (!done()) {
      std::optional<TimePoint> next;
      for (const auto& w : wire_) next = next ? std::min(*next, w.at) : w.at;
      for (auto& h : hosts_) {
        if (auto t = h.core->next_wakeup()) next = next ? std::min(*next, *t) : *t;
      }
      if (!next || *next > deadline) {
        clock.advance_to(deadline);
        return done();
      }
      clock.advance_to(*next);
      deliver_due();
      for (auto& h : hosts_) {
        if (auto t = h.core->next_wakeup(); t && *t <= clock.now) h.core->on_timer(clock.now);
      }
    }
    return true;
  }
  void run_for(milliseconds d) {
    run_until(clock.now + d, [] { return false; });
  }

  bool knows(std::size_t i, std::size_t j) { return core(i).known_nodes().contains(core(j).local_node_id()); }
  bool converged() {
    for (std::size_t i = 0; i < size(); ++i) {
      if (core(i).known_nodes().size() != size() - 1) return false;
      for (std::size_t j = 0; j < size(); ++j) {
        if (i != j && !knows(i, j)) return false;
      }
    }
    return true;
  }

  FakeClock clock;

 private:
  struct InFlight {
    TimePoint at;
    std::size_t from;
    Destination destination;
    std::string datagram;
  };

  void deliver_due() {
    while (!wire_.empty() && wire_.front().at <= clock.now) {
      InFlight w = std::move(wire_.front());
      wire_.pop_front();
      const std::string& from_ip = hosts_[w.from].ip;
      for (auto& h : hosts_) {
        if (!h.linked) continue;
        const bool addressed = w.destination.kind == Destination::Kind::Group ||
                               (w.destination.ip == h.ip && w.destination.port == kPort);
        if (addressed) h.core->on_datagram(from_ip, kPort, core_bytes(w.datagram), clock.now);
      }
    }
  }

  std::vector<Host> hosts_;
  std::deque<InFlight> wire_;
};

TEST(DiscoveryLanTest, TwoNodesFindEachOtherAtStart) {
  Lan lan;
  lan.add_host();
  lan.add_host();
  lan.core(0).start(lan.clock.now);
  lan.run_for(5s);
  lan.core(1).start(lan.clock.now);
  const TimePoint last_start = lan.clock.now;
  ASSERT_TRUE(lan.run_until(last_start + 1s, [&] { return lan.converged(); }));
  EXPECT_LE(lan.clock.now - last_start, 150ms);  // one probe and its 0-100 ms reply
  EXPECT_EQ(lan.core(0).known_nodes().at(lan.core(1).local_node_id()).address, "10.0.0.2:9000");
  EXPECT_EQ(lan.core(1).known_nodes().at(lan.core(0).local_node_id()).address, "10.0.0.1:9000");
}

TEST(DiscoveryLanTest, FiveNodesConvergeStayQuietAndTrackDeparturesCutsAndReturns) {
  Lan lan;
  constexpr std::size_t kHosts = 5;
  for (std::size_t i = 0; i < kHosts; ++i) lan.add_host();
  for (std::size_t i = 0; i < kHosts; ++i) {
    lan.core(i).start(lan.clock.now);
    lan.run_for(200ms);
  }
  ASSERT_TRUE(lan.converged());

  // Steady state: ten minutes without a loss, and about two datagrams per node per minute.
  for (std::size_t i = 0; i < kHosts; ++i) lan.host(i).sent_before_window = lan.core(i).counters().sent;
  for (int minute = 0; minute < 10; ++minute) {
    lan.run_for(1min);
    ASSERT_TRUE(lan.converged()) << "minute " << minute;
  }
  for (std::size_t i = 0; i < kHosts; ++i) {
    const auto sent = lan.core(i).counters().sent - lan.host(i).sent_before_window;
    EXPECT_GE(sent, 18u) << i;
    EXPECT_LE(sent, 23u) << i;
    EXPECT_EQ(lan.core(i).counters().expired, 0u) << i;
    EXPECT_EQ(lan.core(i).counters().ignored(), lan.core(i).counters().own) << i;  // nothing hostile here
  }

  // A goodbye removes the node everywhere at once.
  lan.core(4).stop(lan.clock.now);
  lan.run_for(10ms);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_FALSE(lan.knows(i, 4)) << i;
  lan.core(4).start(lan.clock.now);
  lan.run_for(200ms);
  ASSERT_TRUE(lan.converged());

  // Cut host 3's link: the others drop it after the expiry (3 intervals), not before.
  lan.host(3).linked = false;
  const TimePoint cut = lan.clock.now;
  // Its last announcement came at most 1.1 intervals (33 s) before the cut.
  lan.run_for(56s);
  for (std::size_t i = 0; i < kHosts; ++i) {
    if (i != 3) {
      EXPECT_TRUE(lan.knows(i, 3)) << i;
    }
  }
  ASSERT_TRUE(lan.run_until(cut + 90s + 1s, [&] {
    for (std::size_t i = 0; i < kHosts; ++i) {
      if (i != 3 && lan.knows(i, 3)) return false;
    }
    return true;
  }));
  EXPECT_GE(lan.clock.now - cut, 57s);

  // Restore it: found again at its next announcement, and it finds them again.
  lan.run_for(60s);
  lan.host(3).linked = true;
  ASSERT_TRUE(lan.run_until(lan.clock.now + 34s, [&] { return lan.converged(); }));
}

TEST(DiscoveryLanTest, ManyNodesStartingTogetherConverge) {
  Lan lan;
  constexpr std::size_t kHosts = 12;
  for (std::size_t i = 0; i < kHosts; ++i) lan.add_host();
  for (std::size_t i = 0; i < kHosts; ++i) lan.core(i).start(lan.clock.now);
  const TimePoint started = lan.clock.now;
  ASSERT_TRUE(lan.run_until(started + 2s, [&] { return lan.converged(); }));
  EXPECT_LE(lan.clock.now - started, 1100ms);
  for (std::size_t i = 0; i < kHosts; ++i) {
    EXPECT_EQ(lan.core(i).counters().rate_limited, 0u) << i;
  }
}

// ------------------------------------------------------------------ IPv6

TEST_F(DiscoveryCoreTest, AnIpv6SourceIsWhereASilentNodeIs) {
  auto& core = make_core();
  Peer global, link_local;
  receive(global.announce(clock_), "2001:db8::5", 40000);
  core_->on_datagram("fe80::2%eth1", 40001, core_bytes(link_local.announce(clock_)), clock_.now);
  EXPECT_EQ(core.known_nodes().at(global.id()).address, "[2001:db8::5]:9000");
  const auto node = core.find(link_local.id());
  ASSERT_TRUE(node);
  EXPECT_EQ(node->info.address, "[fe80::2%eth1]:9000") << "the scope the receiving socket gave it";
  EXPECT_EQ(node->source, "[fe80::2%eth1]:40001");
}

TEST_F(DiscoveryCoreTest, AnnouncedLinkLocalAddressesTakeTheReceiversInterfaceAsScope) {
  auto& core = make_core();
  Peer peer;
  // Scopes name the sender's interfaces, which mean nothing here.
  peer.addresses = {"10.0.0.5", "2001:db8::5", "fe80::5%en0", "[fe80::6%en1]:9100"};
  core_->on_datagram("10.0.0.5", 9001, core_bytes(peer.announce(clock_)), clock_.now, "eth1");
  const auto node = core.find(peer.id());
  ASSERT_TRUE(node);
  // Over IPv4 nothing tells which link-local address shares our link: both are
  // kept, on the interface the datagram came in on.
  EXPECT_EQ(node->addresses, (std::vector<std::string>{"10.0.0.5:9000", "[2001:db8::5]:9000", "[fe80::5%eth1]:9000",
                                                       "[fe80::6%eth1]:9100"}));
}

TEST_F(DiscoveryCoreTest, OverLinkLocalIpv6OnlyTheSourcesOwnLinkLocalAddressIsKept) {
  auto& core = make_core();
  Peer peer;
  peer.addresses = {"10.0.0.5", "2001:db8::5", "fe80::5%en0", "fe80::6%en1"};
  core_->on_datagram("fe80::5%eth1", 9001, core_bytes(peer.announce(clock_)), clock_.now);
  const auto node = core.find(peer.id());
  ASSERT_TRUE(node);
  // fe80::6 is on another of the sender's links: unreachable from this one.
  EXPECT_EQ(node->addresses,
            (std::vector<std::string>{"10.0.0.5:9000", "[2001:db8::5]:9000", "[fe80::5%eth1]:9000"}));
}

TEST_F(DiscoveryCoreTest, UnspecifiedIpv6MeansTheLinkLocalSourceWithItsScope) {
  auto& core = make_core();
  Peer peer;
  peer.addresses = {"::", "[::]:9200"};
  core_->on_datagram("fe80::2%eth1", 9001, core_bytes(peer.announce(clock_)), clock_.now);
  EXPECT_EQ(core.find(peer.id())->addresses,
            (std::vector<std::string>{"[fe80::2%eth1]:9000", "[fe80::2%eth1]:9200"}));
}

TEST_F(DiscoveryCoreTest, ALinkLocalAddressWithAnOddScopeIsDropped) {
  auto& core = make_core();
  Peer peer;
  peer.addresses = {"fe80::5%en0/../x", "fe80::5%en 0", "10.0.0.5"};
  core_->on_datagram("10.0.0.5", 9001, core_bytes(peer.announce(clock_)), clock_.now, "eth1");
  EXPECT_EQ(core.find(peer.id())->addresses, (std::vector<std::string>{"10.0.0.5:9000"}));
}

TEST_F(DiscoveryCoreTest, EveryAddressIsInNodeInfoWithSourceLan) {
  auto& core = make_core();
  Peer peer;
  peer.addresses = {"10.0.0.5", "2001:db8::5"};
  receive(peer.announce(clock_), "10.0.0.5");
  const NodeInfo info = core.known_nodes().at(peer.id());
  ASSERT_EQ(info.addresses.size(), 2u);
  EXPECT_EQ(info.addresses[0].address, "10.0.0.5:9000");
  EXPECT_EQ(info.addresses[1].address, "[2001:db8::5]:9000");
  for (const auto& a : info.addresses) {
    EXPECT_EQ(a.source, AddressSource::Lan);
    EXPECT_EQ(a.last_seen, info.last_seen);
    EXPECT_EQ(a.last_success, std::chrono::system_clock::time_point{}) << "discovery never connects";
  }
  EXPECT_EQ(info.address, info.addresses.front().address);
}

TEST_F(DiscoveryCoreTest, OneAnnouncementOverIpv4AndIpv6IsOneNodeAndOneDuplicate) {
  auto& core = make_core();
  Peer peer;
  peer.addresses = {"10.0.0.5", "fe80::5%en0"};
  const std::string datagram = peer.announce(clock_);
  core_->on_datagram("10.0.0.5", 9001, core_bytes(datagram), clock_.now, "eth1");
  core_->on_datagram("fe80::5%eth1", 9001, core_bytes(datagram), clock_.now);
  EXPECT_EQ(core.size(), 1u);
  EXPECT_EQ(core.counters().accepted, 1u);
  EXPECT_EQ(core.counters().duplicate, 1u);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].first, NodeEvent::Discovered);
}

TEST_F(DiscoveryCoreTest, ANewAddressListIsAnUpdateEvenWithTheSameFirstAddress) {
  auto& core = make_core();
  Peer peer;
  peer.addresses = {"10.0.0.5"};
  receive(peer.announce(clock_), "10.0.0.5");
  peer.addresses = {"10.0.0.5", "2001:db8::5"};  // it gained an IPv6 address
  receive(peer.announce(clock_), "10.0.0.5");
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1], std::make_pair(NodeEvent::Updated, peer.id()));
  EXPECT_EQ(core.known_nodes().at(peer.id()).addresses.size(), 2u);
  receive(peer.announce(clock_), "10.0.0.5");
  EXPECT_EQ(events_.size(), 2u) << "nothing changed";
}

TEST_F(DiscoveryCoreTest, AProbeFromALinkLocalSourceIsAnsweredThereWithItsScope) {
  auto& core = make_core();
  core.start(clock_.now);
  sent_.clear();
  Peer prober;
  core_->on_datagram("fe80::7%eth1", 40000, core_bytes(prober.announce(clock_, DatagramKind::Probe)), clock_.now);
  clock_.advance(100ms);
  core.on_timer(clock_.now);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].destination, Destination::unicast("fe80::7%eth1", 40000));
  EXPECT_EQ(sent_[0].destination.to_string(), "[fe80::7%eth1]:40000");
}

TEST_F(DiscoveryCoreTest, OurAdvertisedAddressesGoOutAsConfigured) {
  auto config = base_config();
  config.advertised_addresses = {"10.0.0.1", "2001:db8::1", "fe80::1%eth0"};
  auto& core = make_core(std::move(config));
  core.start(clock_.now);
  ASSERT_EQ(sent_.size(), 1u);
  const DatagramParse probe = parse_datagram(core_bytes(sent_[0].datagram));
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe.fields.addresses, (std::vector<std::string>{"10.0.0.1", "2001:db8::1", "fe80::1%eth0"}));
}

TEST_F(DiscoveryCoreTest, NewAdvertisedAddressesGoOutWithTheNextAnnouncement) {
  auto config = base_config();
  config.advertised_addresses = {"10.0.0.1"};
  auto& core = make_core(std::move(config));
  core.start(clock_.now);
  core.set_advertised_addresses({"10.0.0.1", "203.0.113.7:9000"});
  EXPECT_EQ(sent_.size(), 1u) << "nothing is sent for it";
  ASSERT_TRUE(core.announce_presence(clock_.now));
  ASSERT_EQ(sent_.size(), 2u);
  const DatagramParse next = parse_datagram(core_bytes(sent_[1].datagram));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.fields.addresses, (std::vector<std::string>{"10.0.0.1", "203.0.113.7:9000"}));
}

}  // namespace
}  // namespace datafold::net::discovery
