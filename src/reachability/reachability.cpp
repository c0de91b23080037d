#include "reachability/reachability.hpp"

#include <algorithm>

namespace datafold::net::detail {

namespace {
// Peers remembered at once; the oldest give way (a node has few peers that matter here).
constexpr std::size_t kMaxRemembered = 64;
}  // namespace

bool Reachability::should_ask(const NodeId& peer, Clock::time_point now) const {
  auto it = asked_.find(peer);
  return it == asked_.end() || now - it->second >= interval_;
}

void Reachability::asked(const NodeId& peer, Clock::time_point now) {
  if (asked_.size() >= kMaxRemembered && !asked_.count(peer)) {
    auto oldest = std::min_element(asked_.begin(), asked_.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
    answers_.erase(oldest->first);
    asked_.erase(oldest);
  }
  asked_[peer] = now;
}

bool Reachability::record(const NodeId& peer, bool reachable, std::string address, Clock::time_point now) {
  const auto before = status(now);
  if (!asked_.count(peer)) asked(peer, now);
  answers_[peer] = Answer{reachable, std::move(address), now};
  return status(now) != before;
}

Reachability::Status Reachability::status(Clock::time_point now) const {
  bool any = false;
  for (const auto& [peer, answer] : answers_) {
    if (!fresh(answer, now)) continue;
    if (answer.reachable) return Status::Reachable;
    any = true;
  }
  return any ? Status::Unreachable : Status::Unknown;
}

std::vector<std::string> Reachability::reachable_addresses(Clock::time_point now) const {
  std::vector<std::string> out;
  for (const auto& [peer, answer] : answers_)
    if (fresh(answer, now) && answer.reachable && std::find(out.begin(), out.end(), answer.address) == out.end())
      out.push_back(answer.address);
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t Reachability::answers(Clock::time_point now) const {
  return static_cast<std::size_t>(
      std::count_if(answers_.begin(), answers_.end(), [&](const auto& entry) { return fresh(entry.second, now); }));
}

std::string_view to_string(Reachability::Status status) noexcept {
  switch (status) {
    case Reachability::Status::Unknown: return "unknown";
    case Reachability::Status::Reachable: return "reachable";
    case Reachability::Status::Unreachable: return "unreachable";
  }
  return "unknown";
}

}  // namespace datafold::net::detail
