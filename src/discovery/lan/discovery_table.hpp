// DiscoveryCore: LAN discovery without sockets (DESIGN.md section 10). It is fed
// datagrams and the time, and hands the datagrams it wants sent to a callback, so
// unit tests and the fuzzer drive it with a fake clock and a thin UDP adapter
// drives it in a node.
//
// Time. Two clocks, both injectable:
//  - `TimePoint now` (std::chrono::steady_clock) is passed to every call. All
//    scheduling (announcement interval, expiry, probe-reply delay, rate limits)
//    uses it, so a wall-clock step never expires the table or floods the LAN.
//  - DiscoveryConfig::wall_clock returns Unix milliseconds. It stamps outgoing
//    announcements and checks incoming ones against the skew window, and gives
//    NodeInfo::last_seen. Tests replace it; by default it reads system_clock.
//
// Threads. Not thread-safe: the adapter calls it from one strand. Callbacks
// (send, on_event) run inside the call that caused them, after the table has been
// updated; they may call back into the core, but a real adapter should post the
// send rather than deliver a datagram synchronously.
//
// Adapter loop:
//   core.start(now);                                   // probe/announce
//   on each received datagram: core.on_datagram(ip, port, bytes, now, interface);
//   on a NodeAnnouncement envelope: core.on_signed_announcement(ip, bytes, now);
//   whenever a call returns: re-arm a timer for core.next_wakeup(), and when it
//   fires call core.on_timer(now);
//   core.stop(now);                                    // goodbye
// send(dest, bytes): dest.kind == Group means the multicast groups (IPv4 and
// IPv6) and the broadcast address on the discovery port; Unicast means
// dest.ip:dest.port (a link-local IPv6 dest.ip carries its scope: "fe80::1%eth0").
//
// Addresses. An announcement lists where its sender can be dialled; receivers
// make each one dialable: an unspecified one ("0.0.0.0", "::") or an empty list
// means the datagram's source, a missing port the announced TCP port, and a
// link-local IPv6 address gets the receiver's own interface as scope (a scope
// is an interface of the host that wrote it, meaningless anywhere else): the
// interface the datagram arrived on (kept bare when that is unknown). When the
// datagram itself came from a link-local address, the other link-local addresses
// it lists are dropped: they are on the sender's other links.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "datafold/net/identity.hpp"
#include "datafold/net/node_id.hpp"
#include "datafold/net/node_info.hpp"
#include "datafold/net/uuid.hpp"
#include "discovery/announcement.hpp"

namespace datafold::net::discovery {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// Where a datagram goes.
struct Destination {
  enum class Kind : std::uint8_t {
    Group,    // every node on the LAN: the multicast group and broadcast
    Unicast,  // one node: ip, port
  };
  Kind kind = Kind::Group;
  std::string ip;          // Unicast only
  std::uint16_t port = 0;  // Unicast only

  static Destination group() { return {}; }
  static Destination unicast(std::string ip, std::uint16_t port) {
    return {Kind::Unicast, std::move(ip), port};
  }
  // "group", or "ip:port" ("[ip]:port" for IPv6).
  std::string to_string() const;

  friend bool operator==(const Destination&, const Destination&) = default;
};

using SendFn = std::function<void(const Destination& destination, const std::string& datagram)>;
// Unix time in milliseconds.
using WallClockFn = std::function<std::int64_t()>;
// Uniformly random 64-bit values; only timing (jitter, reply delay) depends on it.
using RandomFn = std::function<std::uint64_t()>;

enum class NodeEvent : std::uint8_t {
  Discovered,  // first sight (or seen again after it expired or said goodbye)
  Updated,     // a fresh announcement changed its address, port, capabilities or instance
  Departed,    // goodbye received
  Expired,     // nothing heard for the entry's lifetime
};
using NodeEventFn = std::function<void(NodeEvent event, const NodeInfo& node)>;

struct DiscoveryConfig {
  Identity identity;                        // signs our announcements; our own are ignored
  std::string network_name = "datafold";    // announcements from other networks are ignored
  std::uint16_t tcp_port = 0;               // where we accept connections; 0: we don't
  // What we advertise ("ip" or "ip:port"; link-local IPv6 as "fe80::1%eth0");
  // empty (or "0.0.0.0") lets receivers use the datagram's source.
  std::vector<std::string> advertised_addresses{};
  NodeCapabilities capabilities{};

  // Periodic announcements every interval (±10 % jitter); entries expire after 3.
  std::chrono::milliseconds announcement_interval{30'000};
  // Announcements stamped further than this from our wall clock are ignored.
  std::chrono::milliseconds skew_window{60'000};
  // Per-source-IP token bucket, checked before any parsing or signature check.
  double rate_limit_per_second = 20.0;
  double rate_limit_burst = 40.0;
  // Bounds on memory, whatever the LAN sends.
  std::size_t max_table_size = 4096;
  std::size_t max_rate_limited_sources = 4096;
  std::size_t max_pending_replies = 256;
  // Probe replies wait a random delay in [0, max] so a probe's answers don't collide.
  std::chrono::milliseconds probe_reply_max_delay{100};
  // The extra announcement on first sight of a node is sent at most this often.
  std::chrono::milliseconds first_sight_min_gap{1'000};
  // start() sends its announcement as a probe, so existing nodes answer at once
  // instead of at their next interval. A probe is also a full announcement.
  bool probe_on_start = true;

  WallClockFn wall_clock{};  // empty: std::chrono::system_clock
  RandomFn random{};          // empty: a std::mt19937_64 seeded from std::random_device
  NodeEventFn on_event{};     // optional
  // Reputation's say (all optional): datagrams from an IP `refuse_sender` names are
  // dropped before anything is parsed, announcements of a node `refuse_node` names
  // are dropped before their signature is checked, and `on_forged` hears the
  // source IP of each datagram whose signature or id does not check.
  std::function<bool(std::string_view ip)> refuse_sender{};
  RefuseNode refuse_node{};
  std::function<void(std::string_view ip)> on_forged{};
};

// What happened to received datagrams, and what was sent. Every received
// datagram is counted in `received` and in exactly one of `accepted` or an
// ignored reason; `internal_error` alone may overlap (the exception came after
// the datagram was accepted).
struct DiscoveryCounters {
  std::uint64_t received = 0;
  std::uint64_t accepted = 0;
  // Ignored, by reason.
  std::uint64_t rate_limited = 0;   // the source IP's token bucket was empty
  std::uint64_t too_large = 0;      // over kMaxDatagramBytes
  std::uint64_t bad_magic = 0;      // not ours at all
  std::uint64_t bad_version = 0;    // a datagram version we don't speak
  std::uint64_t malformed = 0;      // a broken SignedAnnouncement / NodeAnnouncement
  std::uint64_t bad_signature = 0;
  std::uint64_t id_mismatch = 0;    // node_id != SHA-256(public_key)
  std::uint64_t banned = 0;         // from a banned IP (before parsing) or a banned node
  std::uint64_t own = 0;            // our own announcement, looped back
  std::uint64_t other_network = 0;
  std::uint64_t skew = 0;           // timestamp outside the skew window
  std::uint64_t duplicate = 0;      // same instance and sequence again (multicast + broadcast both arrive)
  std::uint64_t replay = 0;         // older sequence of the instance, or a retired instance
  std::uint64_t table_full = 0;     // a new node while the table is at max_table_size
  std::uint64_t internal_error = 0; // an exception (allocation, a throwing callback) was contained
  // Sent (one per send() call).
  std::uint64_t sent = 0;
  std::uint64_t probes_sent = 0;
  std::uint64_t probe_replies_sent = 0;
  std::uint64_t first_sight_announcements_sent = 0;
  std::uint64_t goodbyes_sent = 0;
  // Table changes.
  std::uint64_t goodbyes_received = 0;
  std::uint64_t expired = 0;

  std::uint64_t ignored() const noexcept {
    return rate_limited + too_large + bad_magic + bad_version + malformed + bad_signature +
           id_mismatch + banned + own + other_network + skew + duplicate + replay + table_full +
           internal_error;
  }
};

// A table entry as the caller sees it.
struct DiscoveredNode {
  // info.address is addresses.front(), or "" if none; info.addresses holds them all,
  // each with source Lan and last_seen the time of the announcement.
  NodeInfo info;
  std::vector<std::string> addresses;   // every dialable "ip:port" it advertised, resolved
  std::string source;                   // "ip:port" its last datagram came from
  Uuid instance_id;
  std::uint64_t sequence = 0;
  TimePoint last_heard{};
  TimePoint expires_at{};
};

class DiscoveryCore {
 public:
  DiscoveryCore(DiscoveryConfig config, SendFn send);

  // Starts announcing: one announcement (a probe if probe_on_start) now, then
  // every interval. Does nothing if already started.
  void start(TimePoint now);
  // Sends a goodbye (ttl 0) and stops sending; the table is kept. Pending probe
  // replies are dropped. Does nothing if not started.
  void stop(TimePoint now);
  bool running() const noexcept { return running_; }

  // Asks every node on the LAN to answer by unicast (within probe_reply_max_delay).
  // False (nothing sent) when not started.
  bool probe(TimePoint now);
  // One announcement to the group now, outside the periodic schedule.
  // False (nothing sent) when not started.
  bool announce_presence(TimePoint now);
  // What our announcements advertise from the next one on (as
  // DiscoveryConfig::advertised_addresses): the node learnt an address, say an
  // observed public one. Sends nothing by itself.
  void set_advertised_addresses(std::vector<std::string> addresses);
  const std::vector<std::string>& advertised_addresses() const noexcept { return config_.advertised_addresses; }

  // A datagram received from from_ip:from_port ("fe80::2%eth0" for a link-local
  // IPv6 source, scoped as the receiving socket reports it) on the interface named
  // `arrival_interface` ("" if the adapter cannot tell; then an IPv6 source's scope
  // stands for it). Never throws; any input is either accepted or counted under one
  // ignored reason in counters().
  void on_datagram(const std::string& from_ip, std::uint16_t from_port, std::span<const std::uint8_t> bytes,
                   TimePoint now, std::string_view arrival_interface = {}) noexcept;
  // A serialized SignedAnnouncement that arrived another way (a NodeAnnouncement
  // envelope on a connection, the DHT): no datagram header, never a probe. Same
  // checks and counters as on_datagram(); never throws.
  void on_signed_announcement(const std::string& from_ip, std::span<const std::uint8_t> signed_announcement,
                              TimePoint now) noexcept;
  // Sends what is due (periodic announcement, first-sight announcement, probe
  // replies) and expires stale entries. Call at next_wakeup(); early or late is harmless.
  void on_timer(TimePoint now);
  // When on_timer() next has something to do; nullopt when nothing is scheduled.
  std::optional<TimePoint> next_wakeup() const;

  // Every known node: address, key, capabilities, last seen, health Healthy.
  // trust_distance is left 0: the caller applies its trust store.
  std::unordered_map<NodeId, NodeInfo> known_nodes() const;
  std::optional<DiscoveredNode> find(const NodeId& id) const;
  std::size_t size() const noexcept;

  // A live connection heard from the node: push its expiry out as an
  // announcement would. False if the node is not in the table.
  bool refresh(const NodeId& id, TimePoint now);
  // Forgets the node (and its replay state). False if it was not known.
  bool remove(const NodeId& id);

  const DiscoveryCounters& counters() const noexcept { return counters_; }
  const Uuid& instance_id() const noexcept { return instance_id_; }
  const NodeId& local_node_id() const noexcept { return config_.identity.node_id(); }
  // Lifetime given to an entry that is not refreshed: 3 announcement intervals.
  std::chrono::milliseconds entry_lifetime() const noexcept { return 3 * config_.announcement_interval; }

 private:
  struct Entry {
    DiscoveredNode node;
    std::vector<Uuid> retired_instances;  // earlier instances; their datagrams are replays
    bool departed = false;  // said goodbye: hidden, kept only to reject replays of it
  };
  struct Bucket {
    double tokens = 0;
    TimePoint updated{};
  };
  struct PendingReply {
    Destination destination;
    TimePoint due{};
  };
  struct Outgoing {
    Destination destination;
    std::string datagram;
  };

  void receive(const std::string& from_ip, std::uint16_t from_port, std::span<const std::uint8_t> bytes,
               bool framed, std::string_view arrival_interface, TimePoint now) noexcept;
  void handle_datagram(const std::string& from_ip, std::uint16_t from_port, std::span<const std::uint8_t> bytes,
                       bool framed, std::string_view arrival_interface, TimePoint now);
  bool take_token(const std::string& ip, TimePoint now);
  bool make_room(TimePoint now);
  void schedule_first_sight(TimePoint now);
  void schedule_reply(const std::string& ip, std::uint16_t port, TimePoint now);
  void expire(TimePoint now);

  std::string build(DatagramKind kind, std::uint32_t ttl_seconds);
  void queue(Destination destination, std::string datagram);
  void emit(NodeEvent event, const NodeInfo& info);
  void flush();

  std::chrono::milliseconds jittered_interval();
  std::int64_t wall_now() const;

  DiscoveryConfig config_;
  SendFn send_;
  Uuid instance_id_;
  std::uint64_t next_sequence_ = 1;
  bool running_ = false;

  std::unordered_map<NodeId, Entry> table_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::optional<TimePoint> last_bucket_sweep_;
  std::vector<PendingReply> replies_;
  TimePoint next_announce_{};
  std::optional<TimePoint> first_sight_due_;
  std::optional<TimePoint> last_first_sight_;

  // Sends and events wait here until the table is consistent, so a callback
  // that re-enters the core sees a finished update.
  std::vector<Outgoing> outbox_;
  std::vector<std::pair<NodeEvent, NodeInfo>> events_;
  DiscoveryCounters counters_;
};

}  // namespace datafold::net::discovery
