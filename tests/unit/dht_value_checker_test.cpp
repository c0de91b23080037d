#include "discovery/dht/dht_value_checker.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "datafold.pb.h"

namespace datafold::net::discovery {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;
constexpr std::int64_t kSkewMs = 60'000;

Identity checker_identity() {
  auto identity = Identity::generate();
  EXPECT_TRUE(identity.ok());
  return std::move(identity).value();
}

std::span<const std::uint8_t> checker_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

AnnouncementFields fields(const std::string& network = "testnet") {
  AnnouncementFields f;
  f.tcp_port = 9000;
  f.addresses = {"203.0.113.7"};
  f.network_name = network;
  f.instance_id = Uuid::random();
  f.sequence = 1;
  f.timestamp_ms = kNow;
  f.ttl_seconds = 600;
  return f;
}

class DhtValueCheckerTest : public ::testing::Test {
 protected:
  Identity alice = checker_identity();
  Identity bob = checker_identity();
  DhtValueChecker checker{DhtCheckerConfig{"testnet", std::chrono::milliseconds{kSkewMs}}};

  DhtVerdict verdict(const std::string& value, const DhtKeyRef& key, std::int64_t now = kNow) {
    const auto out = checker.check(std::vector<std::string>{value}, key, now);
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? DhtVerdict::Malformed : out.front().verdict;
  }
};

TEST_F(DhtValueCheckerTest, ARefusedNodesValuesAreDroppedBeforeTheirSignatureIsChecked) {
  DhtCheckerConfig config{.network_name = "testnet", .skew_window = std::chrono::milliseconds{kSkewMs}};
  config.refuse_node = [&](const NodeId& id) { return id == alice.node_id(); };
  DhtValueChecker banning{config};
  // Alice's announcement under Bob's signature: a forgery, unless Alice is refused.
  wire::SignedAnnouncement s;
  ASSERT_TRUE(s.ParseFromString(sign_announcement(fields(), alice)));
  const auto signature = bob.sign(checker_bytes(s.announcement()));
  s.set_signature(signature.data(), signature.size());
  const std::vector<std::string> values{s.SerializeAsString(), sign_announcement(fields(), alice),
                                        sign_announcement(fields(), bob)};
  const auto out = banning.check(values, DhtKeyRef::network(), kNow);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].verdict, DhtVerdict::Refused);
  EXPECT_EQ(out[1].verdict, DhtVerdict::Refused);
  EXPECT_EQ(out[2].verdict, DhtVerdict::Accepted);
  EXPECT_EQ(banning.counters().refused, 2u);
  EXPECT_EQ(banning.counters().forged(), 0u);
  EXPECT_EQ(checker.examine(checker_bytes(values[0]), DhtKeyRef::network(), kNow).verdict, DhtVerdict::BadSignature)
      << "without the ban, a forgery";
}

TEST_F(DhtValueCheckerTest, AcceptsAGenuineValueUnderItsNodeKeyAndTheNetworkKey) {
  AnnouncementFields f = fields();
  const std::string value = sign_announcement(f, alice);
  const auto under_node = checker.examine(checker_bytes(value), DhtKeyRef::node(alice.node_id()), kNow);
  ASSERT_EQ(under_node.verdict, DhtVerdict::Accepted);
  ASSERT_TRUE(under_node.fields.has_value());
  EXPECT_EQ(under_node.fields->node_id, alice.node_id());
  EXPECT_EQ(under_node.fields->public_key, alice.public_key());
  EXPECT_EQ(under_node.fields->addresses, f.addresses);
  EXPECT_EQ(under_node.bytes, value.size());
  EXPECT_EQ(checker.examine(checker_bytes(value), DhtKeyRef::network(), kNow).verdict, DhtVerdict::Accepted);
}

TEST_F(DhtValueCheckerTest, RejectsOversizeBeforeParsing) {
  const std::string genuine = sign_announcement(fields(), alice);
  // A genuine announcement made longer than the cap: refused on its size alone.
  std::string padded = genuine;
  padded.append(kMaxDhtValueBytes + 1 - padded.size(), '\0');
  EXPECT_EQ(verdict(padded, DhtKeyRef::network()), DhtVerdict::Oversize);
  EXPECT_EQ(verdict(std::string(kMaxDhtValueBytes, 'x'), DhtKeyRef::network()), DhtVerdict::Malformed);
}

TEST_F(DhtValueCheckerTest, RejectsGarbageAsMalformed) {
  EXPECT_EQ(verdict("", DhtKeyRef::network()), DhtVerdict::Malformed);
  EXPECT_EQ(verdict("not a protobuf at all \xff\xff", DhtKeyRef::network()), DhtVerdict::Malformed);
  const std::string genuine = sign_announcement(fields(), alice);
  EXPECT_EQ(verdict(genuine.substr(0, genuine.size() / 2), DhtKeyRef::network()), DhtVerdict::Malformed);
}

TEST_F(DhtValueCheckerTest, RejectsABrokenSignature) {
  std::string value = sign_announcement(fields(), alice);
  value.back() = static_cast<char>(value.back() ^ 0x01);  // the signature is the last field
  EXPECT_EQ(verdict(value, DhtKeyRef::node(alice.node_id())), DhtVerdict::BadSignature);
}

TEST_F(DhtValueCheckerTest, RejectsAnotherNodesIdSignedWithOwnKey) {
  // Mallory claims Alice's id but can only sign with her own key.
  wire::NodeAnnouncement a;
  a.set_node_id(alice.node_id().bytes().data(), NodeId::kSize);
  a.set_public_key(bob.public_key().bytes().data(), PublicKey::kSize);
  a.set_tcp_port(9000);
  a.set_network_name("testnet");
  const Uuid instance = Uuid::random();
  a.set_instance_id(instance.bytes().data(), Uuid::kSize);
  a.set_sequence(1);
  a.set_timestamp_ms(kNow);
  a.set_ttl_seconds(600);
  wire::SignedAnnouncement s;
  a.SerializeToString(s.mutable_announcement());
  const auto signature = bob.sign(checker_bytes(s.announcement()));
  s.set_signature(signature.data(), signature.size());
  EXPECT_EQ(verdict(s.SerializeAsString(), DhtKeyRef::node(alice.node_id())), DhtVerdict::IdMismatch);
}

TEST_F(DhtValueCheckerTest, RejectsAGenuineValueUnderAnotherNodesKey) {
  const std::string bobs = sign_announcement(fields(), bob);
  EXPECT_EQ(verdict(bobs, DhtKeyRef::node(alice.node_id())), DhtVerdict::WrongKey);
  EXPECT_EQ(checker.counters().forged(), 1u);
}

TEST_F(DhtValueCheckerTest, RejectsAForeignNetwork) {
  EXPECT_EQ(verdict(sign_announcement(fields("othernet"), alice), DhtKeyRef::network()),
            DhtVerdict::ForeignNetwork);
}

TEST_F(DhtValueCheckerTest, FreshnessIsTheValuesLifetimePlusSkew) {
  AnnouncementFields f = fields();
  f.timestamp_ms = kNow + kSkewMs;
  EXPECT_EQ(verdict(sign_announcement(f, alice), DhtKeyRef::network()), DhtVerdict::Accepted);
  f.timestamp_ms = kNow + kSkewMs + 1;
  EXPECT_EQ(verdict(sign_announcement(f, alice), DhtKeyRef::network()), DhtVerdict::Future);

  // A reader that never saw the value above: to it, older instances are not outdated.
  checker = DhtValueChecker{checker.config()};
  f.instance_id = Uuid::random();
  f.timestamp_ms = kNow - 600'000 - kSkewMs;
  EXPECT_EQ(verdict(sign_announcement(f, alice), DhtKeyRef::network()), DhtVerdict::Accepted);
  f.instance_id = Uuid::random();
  f.timestamp_ms = kNow - 600'000 - kSkewMs - 1;
  EXPECT_EQ(verdict(sign_announcement(f, alice), DhtKeyRef::network()), DhtVerdict::Stale);
}

TEST_F(DhtValueCheckerTest, AHugeTtlIsCapped) {
  AnnouncementFields f = fields();
  f.ttl_seconds = 0xFFFFFFFF;
  f.timestamp_ms = kNow - 1000 * kMaxDhtValueLifetime.count() - kSkewMs - 1;
  EXPECT_EQ(verdict(sign_announcement(f, alice), DhtKeyRef::network()), DhtVerdict::Stale);
}

TEST_F(DhtValueCheckerTest, ExtremeTimestampsAreRejectedNotOverflowed) {
  AnnouncementFields f = fields();
  f.timestamp_ms = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(verdict(sign_announcement(f, alice), DhtKeyRef::network()), DhtVerdict::Stale);
  f.timestamp_ms = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(verdict(sign_announcement(f, alice), DhtKeyRef::network()), DhtVerdict::Future);
}

TEST_F(DhtValueCheckerTest, OnlyTheHighestSequenceOfAnInstanceIsAccepted) {
  AnnouncementFields f = fields();
  f.sequence = 1;
  const std::string first = sign_announcement(f, alice);
  f.sequence = 2;
  f.timestamp_ms += 1000;
  const std::string second = sign_announcement(f, alice);

  // Both read at once, in either order.
  for (const auto& batch : {std::vector<std::string>{first, second}, std::vector<std::string>{second, first}}) {
    const auto out = checker.classify(batch, DhtKeyRef::node(alice.node_id()), kNow);
    ASSERT_EQ(out.size(), 2u);
    for (const auto& c : out) {
      EXPECT_EQ(c.verdict, c.fields->sequence == 2 ? DhtVerdict::Accepted : DhtVerdict::Replayed);
    }
  }
}

TEST_F(DhtValueCheckerTest, ALowerSequenceThanOneVerifiedBeforeIsReplayed) {
  AnnouncementFields f = fields();
  f.sequence = 5;
  const std::string newer = sign_announcement(f, alice);
  f.sequence = 4;
  const std::string older = sign_announcement(f, alice);

  EXPECT_EQ(verdict(newer, DhtKeyRef::network()), DhtVerdict::Accepted);
  EXPECT_EQ(verdict(older, DhtKeyRef::node(alice.node_id())), DhtVerdict::Replayed);
  // Reading the current value again in a later lookup is normal.
  EXPECT_EQ(verdict(newer, DhtKeyRef::node(alice.node_id())), DhtVerdict::Accepted);
  EXPECT_EQ(checker.counters().replayed, 1u);
  EXPECT_EQ(checker.counters().accepted, 2u);
}

TEST_F(DhtValueCheckerTest, ClassifyNeitherCountsNorRemembers) {
  AnnouncementFields f = fields();
  f.sequence = 5;
  const std::string newer = sign_announcement(f, alice);
  f.sequence = 4;
  const std::string older = sign_announcement(f, alice);

  (void)checker.classify(std::vector<std::string>{newer}, DhtKeyRef::network(), kNow);
  EXPECT_EQ(checker.counters().read, 0u);
  EXPECT_EQ(checker.remembered_instances(), 0u);
  EXPECT_EQ(verdict(older, DhtKeyRef::network()), DhtVerdict::Accepted);
}

TEST_F(DhtValueCheckerTest, ARestartedNodesEarlierInstanceIsSuperseded) {
  AnnouncementFields before = fields();
  before.sequence = 9;
  before.timestamp_ms = kNow - 30'000;
  AnnouncementFields after = fields();  // a new instance starts at sequence 1
  const std::string old_value = sign_announcement(before, alice);
  const std::string new_value = sign_announcement(after, alice);
  const std::string bobs = sign_announcement(fields(), bob);

  const auto out = checker.check(std::vector<std::string>{new_value, bobs, old_value}, DhtKeyRef::network(), kNow);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].verdict, DhtVerdict::Accepted);
  EXPECT_EQ(out[1].verdict, DhtVerdict::Accepted);
  EXPECT_EQ(out[2].verdict, DhtVerdict::Superseded);
  EXPECT_EQ(checker.counters().superseded, 1u);
  EXPECT_EQ(checker.counters().rejected(), 0u);
}

TEST_F(DhtValueCheckerTest, ALaterLookupThatReadsOnlyTheEarlierInstanceKeepsTheNewerOne) {
  AnnouncementFields before = fields();
  before.sequence = 9;
  before.timestamp_ms = kNow - 30'000;
  AnnouncementFields after = fields();  // the restarted node's new instance
  const std::string old_value = sign_announcement(before, alice);
  const std::string new_value = sign_announcement(after, alice);

  EXPECT_EQ(verdict(new_value, DhtKeyRef::node(alice.node_id())), DhtVerdict::Accepted);
  // A storage node the new put has not reached, or a replayed copy: the old value alone.
  EXPECT_EQ(verdict(old_value, DhtKeyRef::node(alice.node_id()), kNow + 1'000), DhtVerdict::Superseded);
  // Not another node's, and not once the newer value has expired (the DHT forgets it too).
  EXPECT_EQ(verdict(sign_announcement(before, bob), DhtKeyRef::network(), kNow + 1'000), DhtVerdict::Accepted);
  const std::int64_t expired = kNow + after.ttl_seconds * 1000 + kSkewMs + 1;
  before.timestamp_ms = expired - 1'000;
  EXPECT_EQ(verdict(sign_announcement(before, alice), DhtKeyRef::node(alice.node_id()), expired),
            DhtVerdict::Accepted);
}

TEST_F(DhtValueCheckerTest, EveryDistinctValueIsCountedOnceUnderOneVerdict) {
  const std::string genuine = sign_announcement(fields(), alice);
  const std::string foreign = sign_announcement(fields("othernet"), alice);
  const std::vector<std::string> batch{genuine, genuine, "garbage", foreign, std::string(kMaxDhtValueBytes + 1, 'x'),
                                       "garbage"};
  const auto out = checker.check(batch, DhtKeyRef::network(), kNow);
  EXPECT_EQ(out.size(), 4u);
  const DhtValueCounters& c = checker.counters();
  EXPECT_EQ(c.read, 4u);
  EXPECT_EQ(c.accepted, 1u);
  EXPECT_EQ(c.malformed, 1u);
  EXPECT_EQ(c.foreign_network, 1u);
  EXPECT_EQ(c.oversize, 1u);
  EXPECT_EQ(c.read, c.accepted + c.superseded + c.rejected());
}

TEST_F(DhtValueCheckerTest, RemembersABoundedNumberOfInstances) {
  DhtValueChecker small{DhtCheckerConfig{"testnet", std::chrono::milliseconds{kSkewMs}, 2}};
  AnnouncementFields first = fields();
  first.sequence = 7;
  const auto check_one = [&](const AnnouncementFields& f) {
    return small.check(std::vector<std::string>{sign_announcement(f, alice)}, DhtKeyRef::network(), kNow)
        .front()
        .verdict;
  };
  EXPECT_EQ(check_one(first), DhtVerdict::Accepted);
  EXPECT_EQ(check_one(fields()), DhtVerdict::Accepted);
  EXPECT_EQ(check_one(fields()), DhtVerdict::Accepted);
  EXPECT_EQ(small.remembered_instances(), 2u);
  // The first instance was forgotten: its earlier sequence is no longer known to be old.
  first.sequence = 6;
  EXPECT_EQ(check_one(first), DhtVerdict::Accepted);
}

// The fuzzer's seeds (fuzz/corpus/dht_value/), replayed in the normal build: each
// is named "<verdict>.<what>", with dashes for spaces, and must get that verdict
// under the network key at the seeds' time (the fuzzer pins its clock there too).
TEST(DhtValueSeeds, EachSeedGetsTheVerdictItsNameSays) {
  const std::filesystem::path dir = DATAFOLD_SOURCE_DIR "/fuzz/corpus/dht_value";
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    std::string verdict = name.substr(0, name.find('.'));
    std::replace(verdict.begin(), verdict.end(), '-', ' ');
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string value{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    DhtValueChecker checker{DhtCheckerConfig{"datafold"}};
    const auto out = checker.check(std::vector<std::string>{value}, DhtKeyRef::network(), 1'700'000'000'000);
    ASSERT_EQ(out.size(), 1u) << name;
    EXPECT_EQ(to_string(out.front().verdict), verdict) << name;
    ++seeds;
  }
  EXPECT_GE(seeds, 10u);
}

}  // namespace
}  // namespace datafold::net::discovery
