// Reachability: whether this node can be dialled from outside, from what peers
// found when they dialled it back (DialBack, DESIGN.md section 10.3). Socket-free:
// the node asks whom it says, when it says, and reports the answers.
//
// Each dial-back-capable peer is asked at most once per interval; an answer counts
// for two intervals. Reachable: some peer got through recently. Unreachable: peers
// tried and none got through. Unknown: no recent answer.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datafold/net/node_id.hpp"

namespace datafold::net::detail {

class Reachability {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Status { Unknown, Reachable, Unreachable };

  explicit Reachability(std::chrono::milliseconds interval) : interval_(interval) {}

  // Whether to ask `peer` now.
  bool should_ask(const NodeId& peer, Clock::time_point now) const;
  void asked(const NodeId& peer, Clock::time_point now);
  // `peer` dialled `address` and got through (or not). True when the status changed.
  bool record(const NodeId& peer, bool reachable, std::string address, Clock::time_point now);

  Status status(Clock::time_point now) const;
  Status status() const { return status(Clock::now()); }
  // The addresses peers got through to recently.
  std::vector<std::string> reachable_addresses(Clock::time_point now) const;
  std::size_t answers(Clock::time_point now) const;

 private:
  struct Answer {
    bool reachable = false;
    std::string address;
    Clock::time_point at{};
  };
  bool fresh(const Answer& a, Clock::time_point now) const { return a.at != Clock::time_point{} && now - a.at < 2 * interval_; }

  std::chrono::milliseconds interval_;
  std::unordered_map<NodeId, Clock::time_point> asked_;
  std::unordered_map<NodeId, Answer> answers_;
};

std::string_view to_string(Reachability::Status status) noexcept;

}  // namespace datafold::net::detail
