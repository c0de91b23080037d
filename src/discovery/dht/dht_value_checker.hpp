// DhtValueChecker: decides which values read from a DHT key to believe, without
// sockets or the DHT engine (DESIGN.md section 10.2, docs/PROTOCOL.md section 13).
// Anyone can write any bytes under any key, so a value is checked exactly like a
// LAN datagram, adapted to values that live for minutes:
//
//   size        at most kMaxDhtValueBytes, checked before parsing
//   parse       a SignedAnnouncement whose NodeAnnouncement parses (UTF-8 strings,
//               32-byte id and key, 16-byte instance, bounded addresses)
//   signature   Ed25519 over the announcement bytes as stored, by the announced key
//   id          node_id == SHA-256(public_key)
//   key         under a node key: node_id is the node looked up
//   network     network_name is ours
//   freshness   timestamp no further ahead than the skew window, and no older than
//               min(ttl_seconds, kMaxDhtValueLifetime) plus the skew window (a LAN
//               datagram is fresh for the skew window alone; a DHT value is read
//               long after it was written, so its own lifetime counts)
//   replay      among the values of one instance, only the highest sequence (and
//               never one below the highest this checker verified before)
//   newest      of one node's remaining values (several instances: it restarted),
//               the latest timestamp, then the higher sequence, is Accepted; the
//               others are Superseded. Across lookups too: a value of another
//               instance stamped before the newest this checker accepted for that
//               node (while that one is within its lifetime) is Superseded, so a
//               lookup that happens to read only a restarted node's earlier value
//               (a storage node the new put has not reached, a replayed copy) does
//               not send the reader back to the old address
//
// A node's own earlier value, which OpenDHT keeps until it expires, is counted as
// Replayed exactly like a hostile copy of it: the two cannot be told apart, and
// both lose to the newer value.
//
// Time is Unix milliseconds passed in by the caller. Not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "datafold/net/node_id.hpp"
#include "core/recent_map.hpp"
#include "datafold/net/uuid.hpp"
#include "discovery/announcement.hpp"
#include "discovery/dht/dht_value.hpp"

namespace datafold::net::discovery {

// Values checked, by verdict. Each distinct value of a check() is counted once
// in `read` and in exactly one other field; reading the same stored value again
// in a later lookup counts it again.
struct DhtValueCounters {
  std::uint64_t read = 0;
  std::uint64_t accepted = 0;
  std::uint64_t superseded = 0;
  std::uint64_t oversize = 0;
  std::uint64_t malformed = 0;
  std::uint64_t bad_signature = 0;
  std::uint64_t id_mismatch = 0;
  std::uint64_t wrong_key = 0;
  std::uint64_t foreign_network = 0;
  std::uint64_t stale = 0;
  std::uint64_t future = 0;
  std::uint64_t replayed = 0;
  std::uint64_t refused = 0;  // of banned nodes, never verified

  // Claims nobody could have signed: a bad signature, a key that is not the
  // id's, or a genuine announcement placed under another node's key.
  std::uint64_t forged() const noexcept { return bad_signature + id_mismatch + wrong_key; }
  std::uint64_t rejected() const noexcept {
    return oversize + malformed + forged() + foreign_network + stale + future + replayed + refused;
  }
  void count(DhtVerdict verdict) noexcept;
};

// The key values were read from.
struct DhtKeyRef {
  enum class Kind : std::uint8_t { Node, Network };
  Kind kind = Kind::Network;
  NodeId node_id;  // Node: the node looked up

  static DhtKeyRef node(const NodeId& id) { return {Kind::Node, id}; }
  static DhtKeyRef network() { return {}; }
};

struct DhtValueCheck {
  DhtVerdict verdict = DhtVerdict::Malformed;
  std::size_t bytes = 0;                     // size of the value's data
  std::optional<AnnouncementFields> fields;  // set once the signature and id verified
};

struct DhtCheckerConfig {
  std::string network_name = "datafold";
  std::chrono::milliseconds skew_window{60'000};
  // Instances whose highest sequence is remembered, and nodes whose newest value
  // is, least recently seen forgotten first.
  std::size_t max_instances = 4096;
  // Nodes whose values are dropped unverified (reputation's bans). Empty: none.
  RefuseNode refuse_node{};
};

class DhtValueChecker {
 public:
  explicit DhtValueChecker(DhtCheckerConfig config);

  // One value on its own: every check but replay and newest (no state, no counting).
  // Never throws on any input; the verdict is then Accepted or a reject.
  DhtValueCheck examine(std::span<const std::uint8_t> data, const DhtKeyRef& key, std::int64_t now_ms) const;

  // Every value read from one key in one lookup: one result per distinct value,
  // in order of first appearance. Counts them and remembers verified sequences.
  std::vector<DhtValueCheck> check(std::span<const std::string> values, const DhtKeyRef& key,
                                   std::int64_t now_ms);
  // What check() would say, without counting or remembering (for inspecting).
  std::vector<DhtValueCheck> classify(std::span<const std::string> values, const DhtKeyRef& key,
                                      std::int64_t now_ms) const;

  const DhtValueCounters& counters() const noexcept { return counters_; }
  const DhtCheckerConfig& config() const noexcept { return config_; }
  std::size_t remembered_instances() const noexcept { return instances_.size(); }

 private:
  // The newest value accepted for one node: which instance, stamped when, believed until.
  struct Newest {
    Uuid instance;
    std::int64_t timestamp_ms = 0;
    std::int64_t expires_ms = 0;
  };

  // An accepted value another instance of its node has outdated (see "newest").
  bool outdated(const AnnouncementFields& f, std::int64_t now_ms) const;
  void remember(const AnnouncementFields& f);

  DhtCheckerConfig config_;
  DhtValueCounters counters_;
  detail::RecentMap<Uuid, std::uint64_t> instances_;  // highest sequence verified
  detail::RecentMap<NodeId, Newest> newest_;
};

}  // namespace datafold::net::discovery
