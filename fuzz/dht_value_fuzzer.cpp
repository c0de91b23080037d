// libFuzzer target for DHT values: each input is the data of one value read from
// the DHT, checked by a DhtValueChecker as a lookup would: under the network key,
// under the node key it claims and under another node's key, read twice, and
// read together with a genuine value. Invariants: nothing throws; each distinct
// value gets one verdict and is counted once; whatever is believed re-verifies on
// its own, is under its own node key, and yields only dialable addresses.
//
// The wall clock is pinned to the timestamp of the seed corpus
// (fuzz/corpus/dht_value/), so mutated seeds that keep a valid signature get past
// the freshness check and reach the replay and newest-per-node logic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "datafold/net/host_port.hpp"
#include "discovery/dht/dht_found_node.hpp"
#include "discovery/dht/dht_value_checker.hpp"

namespace {

using namespace datafold::net;
using namespace datafold::net::discovery;

constexpr std::int64_t kSeedWallMs = 1'700'000'000'000;  // timestamp_ms of the seeds
constexpr const char* kSeedNetwork = "datafold";         // network_name of the seeds

const Identity& genuine_identity() {
  static const Identity identity = [] {
    auto generated = Identity::generate();
    if (!generated.ok()) std::abort();
    return std::move(generated).value();
  }();
  return identity;
}

// A value of another node, current at the pinned time.
const std::string& genuine_value() {
  static const std::string value = [] {
    AnnouncementFields f;
    f.tcp_port = 9000;
    f.addresses = {"198.51.100.1"};
    f.network_name = kSeedNetwork;
    f.instance_id = Uuid::random();
    f.sequence = 3;
    f.timestamp_ms = kSeedWallMs;
    f.ttl_seconds = 900;
    return sign_announcement(f, genuine_identity());
  }();
  return value;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void check_counters(const DhtValueCounters& c) {
  check(c.read == c.accepted + c.superseded + c.rejected());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string> one{std::string(reinterpret_cast<const char*>(data), size)};
  DhtValueChecker checker{DhtCheckerConfig{kSeedNetwork, std::chrono::milliseconds{60'000}, 8}};

  const auto first = checker.check(one, DhtKeyRef::network(), kSeedWallMs);
  check(first.size() == 1);
  check(checker.counters().read == 1);
  check_counters(checker.counters());
  const DhtValueCheck& c = first.front();
  check(c.bytes == size);
  check(c.fields.has_value() || !is_verified(c.verdict));
  if (size > kMaxDhtValueBytes) check(c.verdict == DhtVerdict::Oversize);

  if (c.fields) {
    const AnnouncementFields& f = *c.fields;
    check(f.node_id == NodeId::from_public_key(f.public_key.bytes()));
    check(f.addresses.size() <= kMaxAddresses);
    const DatagramParse again = verify_signed_announcement({data, size});
    check(again.ok() && again.fields == f);

    // Under its own node key the verdict is the same; under another's it is never believed.
    const auto own = checker.classify(one, DhtKeyRef::node(f.node_id), kSeedWallMs);
    check(own.size() == 1 && own.front().verdict == c.verdict);
    const auto other = checker.classify(one, DhtKeyRef::node(genuine_identity().node_id()), kSeedWallMs);
    check(other.size() == 1);
    if (f.node_id != genuine_identity().node_id()) check(other.front().verdict == DhtVerdict::WrongKey);
  }

  // Read again by a later lookup: a value believed once is believed again.
  const auto second = checker.check(one, DhtKeyRef::network(), kSeedWallMs);
  check(second.size() == 1 && second.front().verdict == c.verdict);
  check_counters(checker.counters());

  // Read together with a genuine value (and itself twice): distinct values once each.
  const std::vector<std::string> batch{one.front(), genuine_value(), one.front()};
  const auto both = checker.check(batch, DhtKeyRef::network(), kSeedWallMs);
  check(both.size() == (one.front() == genuine_value() ? 1u : 2u));
  check_counters(checker.counters());

  const auto nodes = found_nodes(both, std::chrono::system_clock::time_point{});
  check(nodes.size() <= both.size());
  for (const auto& n : nodes) {
    check(n.info.address.empty() == n.info.addresses.empty());
    for (const auto& a : n.info.addresses) check(parse_host_port(a.address).has_value());
  }
  return 0;
}
