// libFuzzer target for the LAN discovery datagram: each input is one datagram,
// fed to parse_datagram() and to a DiscoveryCore (twice, so the replay path runs
// too: first over IPv4 on interface eth1, then over IPv6 from a link-local source
// on it, as one announcement reaches a dual-stack receiver). Invariants checked:
// nothing throws out of on_datagram, every datagram is counted exactly once,
// whatever parses re-verifies when re-framed, and every address listed is
// "host:port" with a link-local IPv6 host scoped to the receiving interface.
//
// The wall clock is pinned to the timestamp of the seed corpus
// (fuzz/corpus/announcement/), so mutated seeds that keep a valid signature get
// past the skew check and reach the table, probe-reply and first-sight code.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "core/endpoint.hpp"
#include "core/ip_address.hpp"
#include "discovery/announcement.hpp"
#include "discovery/lan/discovery_table.hpp"

namespace {

using namespace datafold::net;
using namespace datafold::net::discovery;

constexpr std::int64_t kSeedWallMs = 1'700'000'000'000;  // timestamp_ms of the seeds
constexpr const char* kSeedNetwork = "datafold";         // network_name of the seeds

const Identity& local_identity() {
  static const Identity identity = [] {
    auto generated = Identity::generate();
    if (!generated.ok()) std::abort();
    return std::move(generated).value();
  }();
  return identity;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);

  const DatagramParse parsed = parse_datagram(bytes);
  if (parsed.ok()) {
    check(size <= kMaxDatagramBytes);
    check(parsed.fields.node_id == NodeId::from_public_key(parsed.fields.public_key.bytes()));
    check(parsed.fields.addresses.size() <= kMaxAddresses);
    // The signed part on its own verifies the same way.
    const DatagramParse again = verify_signed_announcement(bytes.subspan(kDatagramHeaderBytes));
    check(again.ok() && again.fields == parsed.fields);
  }

  // A fresh core per input keeps runs reproducible.
  DiscoveryConfig config{.identity = local_identity()};
  config.network_name = kSeedNetwork;
  config.tcp_port = 9000;
  config.max_table_size = 8;
  config.wall_clock = [] { return kSeedWallMs; };
  std::uint64_t random_state = size;
  config.random = [&random_state] {
    random_state = random_state * 6364136223846793005ull + 1442695040888963407ull;
    return random_state;
  };
  std::size_t sent_bytes = 0;
  DiscoveryCore core(std::move(config), [&sent_bytes](const Destination&, const std::string& datagram) {
    sent_bytes += datagram.size();
  });

  TimePoint now{};
  core.start(now);
  core.on_datagram("192.0.2.1", 9001, bytes, now, "eth1");
  now += std::chrono::milliseconds{50};
  core.on_datagram("fe80::1%eth1", 9001, bytes, now);
  now += std::chrono::milliseconds{200};
  core.on_timer(now);

  const DiscoveryCounters& c = core.counters();
  check(c.received == 2);
  check(c.accepted + c.ignored() == 2);
  check(c.internal_error == 0);
  check(core.size() <= 1);
  if (!parsed.ok()) {
    check(c.accepted == 0 && core.size() == 0);
  } else if (parsed.fields.node_id != local_identity().node_id() &&
             parsed.fields.network_name == kSeedNetwork && parsed.fields.ttl_seconds != 0 &&
             parsed.fields.timestamp_ms >= kSeedWallMs - 60'000 &&
             parsed.fields.timestamp_ms <= kSeedWallMs + 60'000) {
    // Listed once; the second copy is a duplicate.
    check(c.accepted == 1 && c.duplicate == 1);
    check(core.known_nodes().contains(parsed.fields.node_id));
    const auto node = core.find(parsed.fields.node_id);
    check(node.has_value());
    for (const auto& address : node->addresses) {
      const auto host_port = detail::parse_host_port(address);
      check(host_port.has_value());
      const auto bare = host_port->host.substr(0, host_port->host.find('%'));
      const auto ip = detail::parse_ip(bare);
      if (ip && ip->is_v6() && ip->to_v6().is_link_local()) check(host_port->host == bare + "%eth1");
    }
  }
  core.stop(now);
  return 0;
}
