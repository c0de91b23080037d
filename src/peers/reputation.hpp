// Reputation: what this node thinks of its peers from what it saw them do
// (DESIGN.md section 10.4; gossipsub v1.1's peer scoring is the model). Socket-free
// and clock-free: the owner feeds it events and the time, and asks it, before
// dialling, relaying for, serving or offering a peer, what state the peer is in.
//
// Scores are kept per node id and per IP "block" (an IPv4 address, an IPv6 /64),
// both decaying toward 0 (neutral) with one half-life. A peer's effective score is
// its id's score plus its block's penalty (a block's score counts only below 0), so
// a new key from an address that misbehaved starts from that address's penalty.
// Only faults are charged to a block: good behaviour is the key's own.
//
// Below `avoid_below` a peer is Avoided (not dialled, not used as a relay, not
// offered in discovery results); below `ban_below` it is Banned for `ban_duration`:
// the id and its block both. A trusted key (the caller says which) is never banned
// automatically: it is reported as WouldBeBanned so the operator can see it.
//
// Not thread-safe: the owner locks.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/node_id.hpp"
#include "datafold/net/reputation.hpp"

namespace datafold::net::detail {

// What a peer did. Faults first, then good behaviour.
enum class PeerEvent {
  ProtocolViolation,   // a malformed frame or message, an unexpected body
  ForgedAnnouncement,  // a LAN or DHT announcement whose signature fails
  RefusedTrustProof,   // a trust proof that does not verify, or replayed
  RateLimitHit,        // a request past its rate or in-flight limit
  FailedHandshake,     // TLS or Hello refused
  Timeout,             // a request it never answered in time
  RelayAbuse,          // past a relay limit, or a foreign circuit token
  DialBackAbuse,       // past the dial-back rate
  OverBudget,          // held past its memory share without reading (closed for it)
  AnsweredRequest,     // a request answered correctly
  ConnectedMinute,     // a minute connected without fault
};
inline constexpr std::size_t kPeerEventKinds = 11;

// "protocol_violation", …
std::string_view to_string(PeerEvent event) noexcept;
// The score one event adds (negative for faults).
double weight_of(PeerEvent event) noexcept;

struct ReputationPolicy {
  std::chrono::seconds half_life{3600};
  double avoid_below = -20;
  double ban_below = -50;
  std::chrono::seconds ban_duration{3600};
  // Good behaviour is worth at most this much: a peer cannot bank credit to spend
  // on a burst of abuse.
  double max_score = 20;
  // And faults at most this little: a flood cannot push a score so low that it
  // never decays back within a day.
  double min_score = -1000;
  // Entries kept (ids and blocks together); past it the ones nearest neutral go first.
  std::size_t max_entries = 4096;
};


class Reputation {
 public:
  using Clock = std::chrono::system_clock;  // wall time: scores and bans outlive restarts

  explicit Reputation(ReputationPolicy policy = {}) : policy_(policy) {}

  // The block an IP is charged under: the address itself for IPv4, its /64 for
  // IPv6 ("2001:db8:1:2::/64"); "" for text that is not an IP.
  static std::string block_of(std::string_view ip);

  // `node` (nullopt before its key is known, as at accept) at `ip` ("" if unknown)
  // did `event`. `trusted`: the key is in the trust store (never banned for it).
  // `times` such events at once (a minute's answered requests).
  void record(PeerEvent event, const std::optional<NodeId>& node, std::string_view ip, bool trusted,
              Clock::time_point now, unsigned times = 1);

  // The state of `node` at `ip` now; either may be absent.
  PeerState state(const std::optional<NodeId>& node, std::string_view ip, bool trusted, Clock::time_point now) const;
  // Its effective score (id's + the block's penalty), decayed to `now`.
  double score(const std::optional<NodeId>& node, std::string_view ip, Clock::time_point now) const;
  // Quick checks for the earliest refusal points.
  bool ip_banned(std::string_view ip, Clock::time_point now) const;
  bool node_banned(const NodeId& node, Clock::time_point now) const;

  // The operator's hand: a ban of `duration` (score set to the ban threshold), an
  // unban (ban lifted, score back to neutral), a reset (forgotten).
  void ban_node(const NodeId& node, std::chrono::seconds duration, Clock::time_point now);
  void ban_ip(std::string_view ip, std::chrono::seconds duration, Clock::time_point now);
  bool unban_node(const NodeId& node);
  bool unban_ip(std::string_view ip);
  bool reset_node(const NodeId& node);
  bool reset_ip(std::string_view ip);

  // Every entry, for `datafold reputation show`, the persisted file and tests.
  struct Entry {
    std::string subject;  // a node id's text, or an IP block
    bool is_node = false;
    double score = 0;                    // as of `updated`
    Clock::time_point updated{};
    std::optional<Clock::time_point> banned_until;
  };
  std::vector<Entry> entries() const;
  // Put back what entries() gave (a loaded file); invalid entries are skipped.
  void restore(const std::vector<Entry>& entries, Clock::time_point now);

  // Events recorded since start, by kind.
  const std::array<std::uint64_t, kPeerEventKinds>& event_counts() const { return event_counts_; }
  const ReputationPolicy& policy() const { return policy_; }

 private:
  struct Score {
    double value = 0;
    Clock::time_point updated{};
    std::optional<Clock::time_point> banned_until;
  };
  double decayed(const Score& score, Clock::time_point now) const;
  void add(Score& score, double delta, Clock::time_point now);
  static bool banned(const Score& score, Clock::time_point now);
  const Score* find_node(const NodeId& node) const;
  const Score* find_block(std::string_view ip) const;
  void forget_nearest_neutral(Clock::time_point now);

  ReputationPolicy policy_;
  std::map<NodeId, Score> nodes_;
  std::map<std::string, Score, std::less<>> blocks_;
  std::array<std::uint64_t, kPeerEventKinds> event_counts_{};
};

}  // namespace datafold::net::detail
