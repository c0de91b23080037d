// Reputation as an operator and an embedding application see it (DESIGN.md section
// 10.4): what a node thinks of its peers, by node id and by IP block, and the
// settings that decide how quickly a peer falls to avoided or banned.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace datafold::net {

// Where a peer stands. Avoided: not dialled, not used as a relay, not offered to
// others. Banned: refused at the earliest point. WouldBeBanned: a key in the trust
// store whose score is past the ban threshold; never banned automatically, shown so
// the operator can decide.
enum class PeerState { Neutral, Good, Avoided, Banned, WouldBeBanned };
// "neutral", "good", "avoided", "banned", "would-be-banned".
std::string_view to_string(PeerState state) noexcept;

struct ReputationSettings {
  // Off: no scores are kept, nothing is avoided or banned (operator bans included).
  bool enabled = true;
  // Scores decay toward neutral (0) with this half-life: an hour forgives a burst
  // of faults within the day, as gossipsub's decay does.
  std::chrono::seconds half_life{3600};
  double avoid_below = -20;
  double ban_below = -50;
  std::chrono::seconds ban_duration{3600};
  // How often peers connected without a fault since the last tick earn credit (a
  // "connected minute"), answered requests are credited, and the file is saved.
  std::chrono::milliseconds tick_interval{60'000};
  // Loopback addresses are one host shared by every local tool and co-located node
  // (as for the per-IP connection cap): their faults are charged to the node id
  // alone. True makes each loopback address a host of its own (tests).
  bool charge_loopback_addresses = false;
  // Scores and bans survive restarts in this file (normally in the data dir);
  // empty: kept in memory only.
  std::string file;
};

// One subject's entry: a node id (52 characters) or an IP block (an IPv4 address,
// an IPv6 /64 as "2001:db8::/64").
struct ReputationEntry {
  std::string subject;
  bool is_node = false;
  double score = 0;  // decayed to now
  PeerState state = PeerState::Neutral;
  std::optional<std::chrono::system_clock::time_point> banned_until;
};

struct ReputationStats {
  std::vector<std::pair<std::string, std::uint64_t>> events;  // by kind, since start
  std::vector<std::pair<std::string, std::uint64_t>> subjects_by_state;
  std::uint64_t refused_banned = 0;  // connections, datagrams and DHT values refused for a ban
};

}  // namespace datafold::net
