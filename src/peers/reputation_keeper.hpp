// ReputationKeeper: a node's Reputation as the node uses it (DESIGN.md section
// 10.4). It adds what the socket-free core leaves to its owner: a lock (events come
// from every I/O and handler thread), the clock, the trust store's word on who is
// trusted, which addresses are charged (loopback is one shared host), the file
// scores persist in, the operator's commands by subject text, and the log lines an
// operator needs: a peer banned, a trusted key that would have been.
//
// Thread-safe. Disabled (ReputationSettings::enabled false), it records nothing and
// refuses nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/node_id.hpp"
#include "datafold/net/reputation.hpp"
#include "peers/reputation.hpp"

namespace datafold::net::detail {

class ReputationKeeper {
 public:
  using Clock = Reputation::Clock;
  using ClockFn = std::function<Clock::time_point()>;
  // Whether a node id's key is in the trust store (such keys are never banned automatically).
  using TrustedFn = std::function<bool(const NodeId&)>;

  ReputationKeeper(ReputationSettings settings, TrustedFn trusted, ClockFn clock = {});

  bool enabled() const noexcept { return settings_.enabled; }
  const ReputationSettings& settings() const noexcept { return settings_; }

  // Reads the file, if there is one (a missing file is an empty one; damaged lines
  // are skipped and logged). Config error if it cannot be read.
  NetworkResult<void> load();
  // Writes the file if anything changed since the last load or save.
  NetworkResult<void> save_if_changed();

  // `node` (nullopt before its key is known) at `ip` ("" unknown) did `event`,
  // `times` times.
  void record(PeerEvent event, const std::optional<NodeId>& node, std::string_view ip, unsigned times = 1);

  PeerState state(const std::optional<NodeId>& node, std::string_view ip) const;
  double score(const std::optional<NodeId>& node, std::string_view ip) const;
  // Not dialled, not used as a relay, not offered to others: avoided or banned.
  // A trusted key never is: the operator chose it.
  bool avoided(const NodeId& node) const;

  // The earliest refusal points: true means turn it away. Each such answer counts
  // in stats().refused_banned.
  bool refuse_ip(std::string_view ip);
  bool refuse_node(const NodeId& node);

  // The minute tick: every node in `connected` that had no fault since the last
  // tick earns a connected minute.
  void tick_connected(const std::vector<std::pair<NodeId, std::string>>& connected);

  // The operator's hand, by a node id's text or an IP (an IPv6 block's "…/64" too).
  // Config error for a subject that is neither.
  NetworkResult<void> ban(std::string_view subject, std::chrono::seconds duration);
  NetworkResult<bool> unban(std::string_view subject);
  NetworkResult<bool> reset(std::string_view subject);

  // `addresses` best-scored host first (`host_of` names each one's host), hosts
  // avoided or banned last rather than dropped: the node itself may be fine.
  // Stable: among equals (the usual case, all neutral) the given order stands.
  std::vector<std::string> order_by_host(std::vector<std::string> addresses,
                                         const std::function<std::string(const std::string&)>& host_of) const;

  std::vector<ReputationEntry> entries() const;
  ReputationStats stats() const;

 private:
  struct Subject {
    std::optional<NodeId> node;
    std::string ip;
  };
  static NetworkResult<Subject> parse_subject(std::string_view subject);
  // The IP charged for `ip`: "" for loopback unless settings say otherwise.
  std::string charged_ip(std::string_view ip) const;
  bool trusted(const std::optional<NodeId>& node) const;
  Clock::time_point now() const { return clock_(); }

  const ReputationSettings settings_;
  const TrustedFn trusted_;
  const ClockFn clock_;

  mutable std::mutex mutex_;
  Reputation reputation_;
  std::set<NodeId> faulted_since_tick_;
  std::set<NodeId> told_would_be_banned_;  // logged once each
  bool changed_ = false;
  std::atomic<std::uint64_t> refused_banned_{0};
};

}  // namespace datafold::net::detail
