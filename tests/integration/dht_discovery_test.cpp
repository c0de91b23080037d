// DhtDiscovery over a real OpenDHT network of in-process nodes on 127.0.0.1:
// real UDP, port 0, bootstrap only to each other (nothing else is ever
// contacted). Waits are deadlines on lookups that must complete by themselves.
#include "discovery/dht/dht_discovery.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <opendht/dhtrunner.h>
#include <opendht/network_utils.h>
#include <opendht/value.h>

#include "datafold.pb.h"
#include "discovery/dht/dht_keys.hpp"
#include "support/test_nodes.hpp"

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer cannot see the ordering OpenDHT's uninstrumented library
// establishes (its atomics, and its UDP socket closing a descriptor on its
// receive thread while another of its threads still sends), and reports races
// inside it. Reports with an OpenDHT frame are suppressed for this binary;
// DhtDiscovery's own callbacks on OpenDHT's thread only copy bytes and post
// them to its own thread, which TSan still checks.
extern "C" const char* __tsan_default_suppressions() { return "race:libopendht.so\n"; }
#endif

namespace datafold::net::discovery {
namespace {

using namespace std::chrono_literals;

// Lookups here end long before their deadline unless something is broken; the
// grace is how much longer than its deadline a lookup may take to call back
// before the test calls it hung.
constexpr std::chrono::milliseconds kLookupDeadline = 20s;
constexpr std::chrono::milliseconds kGrace = 10s;

std::string fresh_network() {
  std::random_device rd;
  return "dht-test-" + std::to_string(rd());
}

Identity new_identity() {
  auto identity = Identity::generate();
  EXPECT_TRUE(identity.ok());
  return std::move(identity).value();
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

DhtConfig loopback_config(const std::string& network, Identity identity = new_identity()) {
  DhtConfig config{.identity = std::move(identity)};
  config.network_name = network;
  config.bind_address = "127.0.0.1";
  config.port = 0;
  return config;
}

std::unique_ptr<DhtDiscovery> start_dht(DhtConfig config) {
  auto created = DhtDiscovery::create(std::move(config));
  EXPECT_TRUE(created.ok()) << created.error().to_string();
  if (!created.ok()) return nullptr;
  auto dht = std::move(created).value();
  auto started = dht->start();
  EXPECT_TRUE(started.ok()) << started.error().to_string();
  return dht;
}

std::string bootstrap_of(const DhtDiscovery& dht) { return "127.0.0.1:" + std::to_string(dht.port()); }

AnnouncementFields reachable_at(std::uint16_t tcp_port) {
  AnnouncementFields f;
  f.tcp_port = tcp_port;
  f.addresses = {"127.0.0.1"};
  return f;
}

// Calls `start(handler)` and waits for the handler, which must run exactly once
// and within deadline + kGrace.
template <class T, class Start>
std::optional<T> wait_for_handler(std::chrono::milliseconds deadline, Start&& start) {
  auto promise = std::make_shared<std::promise<T>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto future = promise->get_future();
  start([promise, calls](T result) {
    if (calls->fetch_add(1) == 0) promise->set_value(std::move(result));
  });
  if (future.wait_for(deadline + kGrace) != std::future_status::ready) {
    ADD_FAILURE() << "handler not called within " << (deadline + kGrace).count() << " ms";
    return std::nullopt;
  }
  T result = future.get();
  EXPECT_EQ(calls->load(), 1);
  return result;
}

NetworkResult<DhtFoundNode> lookup(DhtDiscovery& dht, const NodeId& id,
                                   std::chrono::milliseconds deadline = kLookupDeadline) {
  auto r = wait_for_handler<NetworkResult<DhtFoundNode>>(
      deadline, [&](auto handler) { dht.lookup(id, deadline, std::move(handler)); });
  if (!r) return make_error(ErrorKind::Timeout, "lookup hung");
  return std::move(*r);
}

std::vector<DhtFoundNode> network_nodes(DhtDiscovery& dht, std::chrono::milliseconds deadline = 5s) {
  auto r = wait_for_handler<std::vector<DhtFoundNode>>(
      deadline, [&](auto handler) { dht.find_network_nodes(deadline, std::move(handler)); });
  return r ? std::move(*r) : std::vector<DhtFoundNode>{};
}

std::vector<DhtValueReport> inspect(DhtDiscovery& dht, const NodeId& id, std::chrono::milliseconds deadline = 5s) {
  auto r = wait_for_handler<std::vector<DhtValueReport>>(
      deadline, [&](auto handler) { dht.inspect(id, deadline, std::move(handler)); });
  return r ? std::move(*r) : std::vector<DhtValueReport>{};
}

// Threads of this process. The first call starts and joins one thread first:
// ThreadSanitizer starts a helper thread of its own with the process's first
// thread and keeps it, which would otherwise appear between "before" and "after".
std::size_t thread_count() {
  static const bool sanitizer_helpers_started = [] {
    std::thread([] {}).join();
    return true;
  }();
  (void)sanitizer_helpers_started;
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

TEST(DhtDiscovery, ThreeNodesFindEachOtherByIdAndOnTheNetworkKey) {
  const std::string network = fresh_network();
  std::vector<std::unique_ptr<DhtDiscovery>> nodes;
  nodes.push_back(start_dht(loopback_config(network)));  // the first node: no bootstrap
  ASSERT_TRUE(nodes[0]);
  for (int i = 1; i < 3; ++i) {
    auto config = loopback_config(network);
    config.bootstrap = {bootstrap_of(*nodes[0])};
    nodes.push_back(start_dht(std::move(config)));
    ASSERT_TRUE(nodes.back());
  }
  std::map<NodeId, std::uint16_t> tcp_port;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    tcp_port[nodes[i]->node_id()] = static_cast<std::uint16_t>(9100 + i);
    nodes[i]->publish(reachable_at(tcp_port[nodes[i]->node_id()]));
  }

  for (auto& from : nodes) {
    for (auto& to : nodes) {
      if (from == to) continue;
      auto found = lookup(*from, to->node_id());
      ASSERT_TRUE(found.ok()) << found.error().to_string();
      EXPECT_EQ(found->info.node_id, to->node_id());
      EXPECT_EQ(found->info.public_key.bytes(), found->announcement.public_key.bytes());
      EXPECT_EQ(NodeId::from_public_key(found->info.public_key.bytes()), to->node_id());
      const std::string expected = "127.0.0.1:" + std::to_string(tcp_port[to->node_id()]);
      ASSERT_EQ(found->info.addresses.size(), 1u);
      EXPECT_EQ(found->info.addresses[0].address, expected);
      EXPECT_EQ(found->info.addresses[0].source, AddressSource::Dht);
      EXPECT_EQ(found->info.address, expected);
      EXPECT_EQ(found->announcement.network_name, network);
    }
  }

  for (auto& from : nodes) {
    std::set<NodeId> others;
    for (auto& n : nodes) {
      if (n != from) others.insert(n->node_id());
    }
    std::set<NodeId> seen;
    // The network key is written by three nodes; a reader may see two first.
    const bool all = testing::eventually(
        [&] {
          seen.clear();
          for (const auto& n : network_nodes(*from)) seen.insert(n.info.node_id);
          return seen == others;
        },
        kLookupDeadline);
    EXPECT_TRUE(all) << "found " << seen.size() << " of " << others.size();
  }

  for (auto& n : nodes) {
    const DhtStats s = n->stats();
    EXPECT_EQ(s.lookups, 2u);
    EXPECT_EQ(s.lookups_found, 2u);
    EXPECT_EQ(s.lookups_failed, 0u);
    EXPECT_GE(s.values.accepted, 2u);
    EXPECT_EQ(s.values.forged(), 0u);
    EXPECT_GE(s.publications, 1u);
    EXPECT_GT(s.datagrams_in, 0u);
    EXPECT_GT(s.datagrams_out, 0u);
    EXPECT_GT(s.bytes_in, 0u);
    EXPECT_GT(s.good_nodes + s.dubious_nodes, 0u);
  }
}

TEST(DhtDiscovery, NodesOnIpv6LoopbackFindEachOther) {
  const std::string network = fresh_network();
  auto config = loopback_config(network);
  config.bind_address = "::1";
  auto created = DhtDiscovery::create(config);
  if (!created.ok() && created.error().kind == ErrorKind::Connection) {
    GTEST_SKIP() << "no IPv6 loopback here: " << created.error().to_string();
  }
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  auto a = std::move(created).value();
  ASSERT_TRUE(a->start().ok());
  auto b_config = loopback_config(network);
  b_config.bind_address = "::1";
  b_config.bootstrap = {"[::1]:" + std::to_string(a->port())};
  auto b = start_dht(std::move(b_config));
  ASSERT_TRUE(b);
  AnnouncementFields f;
  f.tcp_port = 9100;
  f.addresses = {"::1"};
  a->publish(f);

  auto found = lookup(*b, a->node_id());
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  EXPECT_EQ(found->info.address, "[::1]:9100");
}

TEST(DhtDiscovery, AnUnknownIdEndsWithADiscoveryErrorAtItsDeadline) {
  const std::string network = fresh_network();
  auto a = start_dht(loopback_config(network));
  ASSERT_TRUE(a);
  auto config = loopback_config(network);
  config.bootstrap = {bootstrap_of(*a)};
  auto b = start_dht(std::move(config));
  ASSERT_TRUE(b);
  a->publish(reachable_at(9100));

  const NodeId unknown = new_identity().node_id();
  const auto deadline = 1500ms;
  const auto started = std::chrono::steady_clock::now();
  auto found = lookup(*b, unknown, deadline);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().kind, ErrorKind::Discovery);
  EXPECT_NE(found.error().message.find("not found"), std::string::npos) << found.error().message;
  // It kept searching until its deadline rather than giving up at the first empty answer.
  EXPECT_GE(took, deadline);
  EXPECT_EQ(b->stats().lookups_failed, 1u);
  EXPECT_GE(b->stats().searches, 2u);
}

// A hostile DHT node: a plain OpenDHT runner on 127.0.0.1 that writes whatever
// it likes under any key, as anyone on a public DHT can.
class RawDhtNode {
 public:
  explicit RawDhtNode(std::uint16_t bootstrap_port) {
    dht::DhtRunner::Config config;
    config.peer_discovery = false;
    config.peer_publish = false;
    const asio::ip::udp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
    config.bind4 = dht::SockAddr(local.data(), static_cast<socklen_t>(local.size()));
    dht::DhtRunner::Context context;
    context.sock = std::make_unique<dht::net::UdpSocket>(config.bind4, dht::SockAddr{});
    runner_.run(config, std::move(context));
    runner_.bootstrap("127.0.0.1", std::to_string(bootstrap_port));
  }
  ~RawDhtNode() { runner_.join(); }

  // Puts `data` as a DataFold-typed value; true once OpenDHT reports it stored.
  bool put(const DhtKey& key, const std::string& data) {
    auto value = std::make_shared<dht::Value>(kDhtValueType, reinterpret_cast<const std::uint8_t*>(data.data()),
                                              data.size());
    value->user_type = std::string(kDhtUserType);
    auto done = std::make_shared<std::promise<bool>>();
    auto stored = done->get_future();
    runner_.put(dht::InfoHash(key.data(), key.size()), value, [done](bool ok) { done->set_value(ok); },
                dht::time_point::max(), true);
    return stored.wait_for(kLookupDeadline) == std::future_status::ready && stored.get();
  }

 private:
  dht::DhtRunner runner_;
};

std::string id_mismatch_value(const NodeId& claimed, const Identity& signer, const std::string& network) {
  wire::NodeAnnouncement a;
  a.set_node_id(claimed.bytes().data(), NodeId::kSize);
  a.set_public_key(signer.public_key().bytes().data(), PublicKey::kSize);
  a.set_tcp_port(6666);
  a.add_addresses("127.0.0.66");
  a.set_network_name(network);
  const Uuid instance = Uuid::random();
  a.set_instance_id(instance.bytes().data(), Uuid::kSize);
  a.set_sequence(1000);
  a.set_timestamp_ms(unix_ms());
  a.set_ttl_seconds(900);
  wire::SignedAnnouncement s;
  a.SerializeToString(s.mutable_announcement());
  const auto signature = signer.sign(bytes_of(s.announcement()));
  s.set_signature(signature.data(), signature.size());
  return s.SerializeAsString();
}

TEST(DhtDiscovery, ForgedAndReplayedValuesAreCountedAndTheGenuineOneIsStillFound) {
  const std::string network = fresh_network();
  auto a = start_dht(loopback_config(network));
  ASSERT_TRUE(a);
  const Identity bob_identity = new_identity();
  auto bob_config = loopback_config(network, bob_identity);
  bob_config.bootstrap = {bootstrap_of(*a)};
  auto bob = start_dht(std::move(bob_config));
  auto reader_config = loopback_config(network);
  reader_config.bootstrap = {bootstrap_of(*a)};
  auto reader = start_dht(std::move(reader_config));
  ASSERT_TRUE(bob && reader);

  // Bob publishes twice: the first value (sequence 1) is what a replay repeats.
  bob->publish(reachable_at(9001));
  AnnouncementFields first;
  ASSERT_TRUE(testing::eventually(
      [&] {
        for (const auto& r : inspect(*reader, bob->node_id())) {
          if (r.verified && r.fields->sequence == 1) {
            first = *r.fields;
            return true;
          }
        }
        return false;
      },
      kLookupDeadline));
  bob->publish(reachable_at(9002));
  // The second put is on its way: every lookup below must be able to find it.
  ASSERT_TRUE(testing::eventually(
      [&] {
        for (const auto& r : inspect(*reader, bob->node_id()))
          if (r.verified && r.fields->sequence == 2) return true;
        return false;
      },
      kLookupDeadline));

  const Identity mallory = new_identity();
  const DhtKey bobs_key = dht_node_key(bob->node_id());
  std::string wrong_signature = sign_announcement(reachable_at(6666), bob_identity);
  wrong_signature.back() = static_cast<char>(wrong_signature.back() ^ 0x55);
  AnnouncementFields foreign = first;
  foreign.network_name = network + "-elsewhere";  // Bob's value from another network, copied here
  foreign.sequence = 1000;
  AnnouncementFields stale = first;
  stale.instance_id = Uuid::random();  // an earlier run of Bob's, two hours ago
  stale.timestamp_ms = unix_ms() - 2 * 3600 * 1000;
  AnnouncementFields mallorys = reachable_at(6666);
  mallorys.network_name = network;
  mallorys.instance_id = Uuid::random();
  mallorys.sequence = 1000;
  mallorys.timestamp_ms = unix_ms();
  mallorys.ttl_seconds = 900;
  std::string garbage(300, '\0');
  std::mt19937 random{42};
  for (auto& c : garbage) c = static_cast<char>(random());

  RawDhtNode attacker(a->port());
  const std::map<std::string, std::string> forged{
      {"wrong signature", wrong_signature},
      {"id mismatch", id_mismatch_value(bob->node_id(), mallory, network)},
      {"wrong key", sign_announcement(mallorys, mallory)},
      {"foreign network", sign_announcement(foreign, bob_identity)},
      {"replayed", sign_announcement(first, bob_identity)},
      {"stale", sign_announcement(stale, bob_identity)},
      {"oversize", std::string(kMaxDhtValueBytes + 100, 'x')},
      {"garbage", garbage},
  };
  for (const auto& [what, value] : forged) EXPECT_TRUE(attacker.put(bobs_key, value)) << what;
  // The network key too: what a reader lists must not change either.
  EXPECT_TRUE(attacker.put(dht_network_key(network), garbage));
  EXPECT_TRUE(attacker.put(dht_network_key(network), id_mismatch_value(bob->node_id(), mallory, network)));

  // Every lookup still finds Bob's current value, and sooner or later has read
  // (and counted) every forgery.
  DhtStats s;
  const bool counted_all = testing::eventually(
      [&] {
        auto found = lookup(*reader, bob->node_id());
        EXPECT_TRUE(found.ok()) << found.error().to_string();
        if (!found.ok()) return true;
        EXPECT_EQ(found->announcement.sequence, 2u);
        EXPECT_EQ(found->info.address, "127.0.0.1:9002");
        s = reader->stats();
        return s.values.bad_signature > 0 && s.values.id_mismatch > 0 && s.values.wrong_key > 0 &&
               s.values.foreign_network > 0 && s.values.replayed > 0 && s.values.stale > 0 &&
               s.values.oversize > 0 && s.values.malformed > 0;
      },
      kLookupDeadline);
  EXPECT_TRUE(counted_all) << "bad signature " << s.values.bad_signature << ", id mismatch " << s.values.id_mismatch
                           << ", wrong key " << s.values.wrong_key << ", foreign " << s.values.foreign_network
                           << ", replayed " << s.values.replayed << ", stale " << s.values.stale << ", oversize "
                           << s.values.oversize << ", malformed " << s.values.malformed;
  EXPECT_EQ(s.values.read, s.values.accepted + s.values.superseded + s.values.rejected());

  // The network key lists Bob and the bootstrap node, nothing of Mallory's.
  std::set<NodeId> listed;
  ASSERT_TRUE(testing::eventually(
      [&] {
        listed.clear();
        for (const auto& n : network_nodes(*reader)) listed.insert(n.info.node_id);
        return listed.size() >= 1 && listed.count(bob->node_id()) == 1;
      },
      kLookupDeadline));
  EXPECT_EQ(listed.count(mallory.node_id()), 0u);
  for (const auto& n : network_nodes(*reader)) {
    if (n.info.node_id == bob->node_id()) {
      EXPECT_EQ(n.info.address, "127.0.0.1:9002");
    }
  }

  // `datafold lookup` sees each value and why it was not believed. One DHT get
  // may end before every storing node's values have arrived (a slow run, under
  // a sanitizer, showed one without Bob's current value), so inspect until one
  // get has brought them all, as an operator would run the command again.
  std::map<std::string, int> verdicts;
  int accepted = 0;
  const char* const kinds[] = {"bad signature", "id mismatch", "wrong key", "foreign network",
                               "replayed",      "stale",       "oversize",  "malformed"};
  const bool inspected_all = testing::eventually(
      [&] {
        verdicts.clear();
        accepted = 0;
        for (const auto& r : inspect(*reader, bob->node_id())) {
          if (r.verdict == DhtVerdict::Accepted) {
            ++accepted;
            EXPECT_EQ(r.fields->sequence, 2u);
            EXPECT_TRUE(r.why_not.empty());
          } else {
            ++verdicts[std::string(to_string(r.verdict))];
            if (!r.verified) {
              EXPECT_EQ(r.why_not, to_string(r.verdict));
            }
          }
        }
        return accepted == 1 && std::all_of(std::begin(kinds), std::end(kinds),
                                            [&](const char* why) { return verdicts[why] >= 1; });
      },
      kLookupDeadline);
  EXPECT_TRUE(inspected_all);
  EXPECT_EQ(accepted, 1);
  for (const char* why : kinds) EXPECT_GE(verdicts[why], 1) << why;
}

TEST(DhtDiscovery, ARestartedNodeIsFoundAtItsNewAddress) {
  const std::string network = fresh_network();
  auto a = start_dht(loopback_config(network));
  ASSERT_TRUE(a);
  const Identity bob_identity = new_identity();
  auto bob_config = loopback_config(network, bob_identity);
  bob_config.bootstrap = {bootstrap_of(*a)};
  auto bob = start_dht(bob_config);
  auto reader_config = loopback_config(network);
  reader_config.bootstrap = {bootstrap_of(*a)};
  auto reader = start_dht(std::move(reader_config));
  ASSERT_TRUE(bob && reader);

  bob->publish(reachable_at(9001));
  auto before = lookup(*reader, bob->node_id());
  ASSERT_TRUE(before.ok()) << before.error().to_string();
  EXPECT_EQ(before->info.address, "127.0.0.1:9001");

  // Same identity, new process (new instance, sequence from 1), new address. Its
  // first run's value is still stored and still fresh: the newer one must win.
  bob->stop();
  bob = start_dht(bob_config);
  ASSERT_TRUE(bob);
  AnnouncementFields moved;
  moved.tcp_port = 9500;
  moved.addresses = {"127.0.0.2"};
  bob->publish(moved);
  std::string address;
  EXPECT_TRUE(testing::eventually(
      [&] {
        auto after = lookup(*reader, bob->node_id());
        EXPECT_TRUE(after.ok()) << after.error().to_string();
        address = after.ok() ? after->info.address : "";
        return address == "127.0.0.2:9500";
      },
      kLookupDeadline))
      << "still at " << address;
  EXPECT_GE(reader->stats().values.superseded, 1u);
}

TEST(DhtDiscovery, StopCompletesOutstandingLookupsClosesThePortAndLeavesNoThread) {
  // ThreadSanitizer's runtime starts a thread of its own with the first thread a process
  // makes: make one first, so the count before includes it (it once read 3 after, 2 before).
  std::thread([] {}).join();
  const std::size_t threads_before = thread_count();
  auto dht = start_dht(loopback_config(fresh_network()));
  ASSERT_TRUE(dht);
  const std::uint16_t port = dht->port();
  ASSERT_NE(port, 0);
  EXPECT_GT(thread_count(), threads_before);

  // Nothing to find, and a deadline far away: only stop() can end it.
  auto promise = std::make_shared<std::promise<NetworkResult<DhtFoundNode>>>();
  auto future = promise->get_future();
  dht->lookup(new_identity().node_id(), 600s, [promise](NetworkResult<DhtFoundNode> r) {
    promise->set_value(std::move(r));
  });
  dht->stop();
  ASSERT_EQ(future.wait_for(0s), std::future_status::ready) << "stop() returned before the lookup completed";
  auto result = future.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Discovery);
  EXPECT_NE(result.error().message.find("stopped"), std::string::npos) << result.error().message;

  EXPECT_EQ(thread_count(), threads_before);
  asio::io_context io;
  asio::ip::udp::socket probe(io);
  probe.open(asio::ip::udp::v4());
  std::error_code ec;
  probe.bind({asio::ip::make_address("127.0.0.1"), port}, ec);
  EXPECT_FALSE(ec) << "port " << port << " still bound: " << ec.message();

  // After stop(), a call is answered at once (there is no thread left to answer later).
  bool answered = false;
  dht->lookup(new_identity().node_id(), 10s, [&](NetworkResult<DhtFoundNode> r) {
    answered = true;
    EXPECT_FALSE(r.ok());
  });
  EXPECT_TRUE(answered);
  EXPECT_FALSE(dht->start().ok());
}

TEST(DhtDiscovery, AHandlerMayDestroyItsDhtDiscovery) {
  const std::size_t threads_before = thread_count();
  std::unique_ptr<DhtDiscovery> dht = start_dht(loopback_config(fresh_network()));
  ASSERT_TRUE(dht);
  std::promise<bool> destroyed;
  dht->lookup(new_identity().node_id(), 200ms, [&](NetworkResult<DhtFoundNode> r) {
    const bool failed = !r.ok();
    dht.reset();  // on DhtDiscovery's own thread
    destroyed.set_value(failed);
  });
  auto done = destroyed.get_future();
  ASSERT_EQ(done.wait_for(kGrace), std::future_status::ready);
  EXPECT_TRUE(done.get());
  // Its thread ends by itself once the handler has returned.
  EXPECT_TRUE(testing::eventually([&] { return thread_count() == threads_before; }, kGrace));
}

TEST(DhtDiscovery, ALookupBeforeStartFails) {
  auto created = DhtDiscovery::create(loopback_config(fresh_network()));
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  auto result = lookup(**created, new_identity().node_id(), 5s);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Discovery);
  EXPECT_NE(result.error().message.find("not started"), std::string::npos) << result.error().message;
}

TEST(DhtDiscovery, CreateRejectsBadConfigAndAPortInUse) {
  auto config = loopback_config(fresh_network());
  config.bind_address = "not-an-address";
  auto bad_bind = DhtDiscovery::create(config);
  ASSERT_FALSE(bad_bind.ok());
  EXPECT_EQ(bad_bind.error().kind, ErrorKind::Config);

  config = loopback_config(fresh_network());
  config.bootstrap = {"127.0.0.1"};  // no port
  auto bad_bootstrap = DhtDiscovery::create(config);
  ASSERT_FALSE(bad_bootstrap.ok());
  EXPECT_EQ(bad_bootstrap.error().kind, ErrorKind::Config);

  asio::io_context io;
  asio::ip::udp::socket taken(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  config = loopback_config(fresh_network());
  config.port = taken.local_endpoint().port();
  auto in_use = DhtDiscovery::create(config);
  ASSERT_FALSE(in_use.ok());
  EXPECT_EQ(in_use.error().kind, ErrorKind::Connection);
}

}  // namespace
}  // namespace datafold::net::discovery
