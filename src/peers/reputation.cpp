#include "peers/reputation.hpp"

#include <algorithm>
#include <cmath>

#include "core/ip_address.hpp"

namespace datafold::net {

std::string_view to_string(PeerState state) noexcept {
  switch (state) {
    case PeerState::Neutral: return "neutral";
    case PeerState::Good: return "good";
    case PeerState::Avoided: return "avoided";
    case PeerState::Banned: return "banned";
    case PeerState::WouldBeBanned: return "would-be-banned";
  }
  return "neutral";
}

}  // namespace datafold::net

namespace datafold::net::detail {

namespace {

struct EventInfo {
  std::string_view name;
  double weight;
};

// Weights: one forgery or violation is worth a whole run of good answers; a rate
// hit or a timeout little (they happen to honest peers under load or partition),
// so only many of them in a half-life add up to a ban.
constexpr std::array<EventInfo, kPeerEventKinds> kEvents{{
    {"protocol_violation", -10},
    {"forged_announcement", -25},
    {"refused_trust_proof", -15},
    {"rate_limit_hit", -0.5},
    {"failed_handshake", -5},
    {"timeout", -0.25},
    {"relay_abuse", -5},
    {"dial_back_abuse", -2},
    {"over_budget", -10},
    {"answered_request", 0.05},
    {"connected_minute", 0.1},
}};

}  // namespace

std::string_view to_string(PeerEvent event) noexcept { return kEvents[static_cast<std::size_t>(event)].name; }
double weight_of(PeerEvent event) noexcept { return kEvents[static_cast<std::size_t>(event)].weight; }

std::string Reputation::block_of(std::string_view ip) {
  auto parsed = parse_ip(ip);
  if (!parsed) return {};
  if (parsed->is_v4()) return parsed->to_string();
  auto bytes = parsed->to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

double Reputation::decayed(const Score& score, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - score.updated).count();
  if (elapsed <= 0) return score.value;
  return score.value * std::exp2(-elapsed / static_cast<double>(policy_.half_life.count()));
}

void Reputation::add(Score& score, double delta, Clock::time_point now) {
  score.value = std::clamp(decayed(score, now) + delta, policy_.min_score, policy_.max_score);
  score.updated = now;
}

bool Reputation::banned(const Score& score, Clock::time_point now) {
  return score.banned_until && now < *score.banned_until;
}

const Reputation::Score* Reputation::find_node(const NodeId& node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second;
}

const Reputation::Score* Reputation::find_block(std::string_view ip) const {
  const auto block = block_of(ip);
  if (block.empty()) return nullptr;
  auto it = blocks_.find(block);
  return it == blocks_.end() ? nullptr : &it->second;
}

void Reputation::record(PeerEvent event, const std::optional<NodeId>& node, std::string_view ip, bool trusted,
                        Clock::time_point now, unsigned times) {
  event_counts_[static_cast<std::size_t>(event)] += times;
  const double weight = weight_of(event) * times;
  const auto block = block_of(ip);
  if (node) add(nodes_[*node], weight, now);
  // Faults only: an address earns no credit a new key could spend.
  if (weight < 0 && !block.empty() && !trusted) add(blocks_[block], weight, now);

  // Crossing the ban threshold bans the id and its block, unless the key is trusted.
  if (!trusted && score(node, ip, now) < policy_.ban_below) {
    const auto until = now + policy_.ban_duration;
    if (node) {
      auto& score_of_node = nodes_[*node];
      if (!banned(score_of_node, now)) score_of_node.banned_until = until;
    }
    if (!block.empty() && blocks_.count(block) && decayed(blocks_[block], now) < policy_.ban_below) {
      auto& score_of_block = blocks_[block];
      if (!banned(score_of_block, now)) score_of_block.banned_until = until;
    }
  }
  if (nodes_.size() + blocks_.size() > policy_.max_entries) forget_nearest_neutral(now);
}

double Reputation::score(const std::optional<NodeId>& node, std::string_view ip, Clock::time_point now) const {
  double own = 0;
  if (node)
    if (const auto* s = find_node(*node)) own = decayed(*s, now);
  const auto* block = find_block(ip);
  if (!block) return own;
  // The address's penalty beyond what this key itself earned there: a key alone at
  // its address is not charged twice for one fault; a new key starts from the
  // address's penalty; a key sharing it with abusers carries part of theirs.
  const double others = decayed(*block, now) - std::min(0.0, own);
  return own + std::min(0.0, others);
}

bool Reputation::ip_banned(std::string_view ip, Clock::time_point now) const {
  const auto* s = find_block(ip);
  return s && banned(*s, now);
}

bool Reputation::node_banned(const NodeId& node, Clock::time_point now) const {
  // A trusted key is never banned by record(): a ban it has is the operator's.
  const auto* s = find_node(node);
  return s && banned(*s, now);
}

PeerState Reputation::state(const std::optional<NodeId>& node, std::string_view ip, bool trusted,
                            Clock::time_point now) const {
  // A key's own ban (the operator's, for a trusted key) stands; a trusted key's
  // address ban or low score only would have banned it.
  if (node && node_banned(*node, now)) return PeerState::Banned;
  const bool ban = ip_banned(ip, now);
  const double value = score(node, ip, now);
  if (ban || value < policy_.ban_below) return trusted ? PeerState::WouldBeBanned : PeerState::Banned;
  if (value < policy_.avoid_below) return PeerState::Avoided;
  if (value > 1) return PeerState::Good;
  return PeerState::Neutral;
}

void Reputation::ban_node(const NodeId& node, std::chrono::seconds duration, Clock::time_point now) {
  auto& s = nodes_[node];
  s.value = std::min(decayed(s, now), policy_.ban_below);
  s.updated = now;
  s.banned_until = now + duration;
}

void Reputation::ban_ip(std::string_view ip, std::chrono::seconds duration, Clock::time_point now) {
  const auto block = block_of(ip);
  if (block.empty()) return;
  auto& s = blocks_[block];
  s.value = std::min(decayed(s, now), policy_.ban_below);
  s.updated = now;
  s.banned_until = now + duration;
}

bool Reputation::unban_node(const NodeId& node) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return false;
  it->second = Score{};
  return true;
}

bool Reputation::unban_ip(std::string_view ip) {
  auto it = blocks_.find(block_of(ip));
  if (it == blocks_.end()) return false;
  it->second = Score{};
  return true;
}

bool Reputation::reset_node(const NodeId& node) { return nodes_.erase(node) > 0; }
bool Reputation::reset_ip(std::string_view ip) { return blocks_.erase(block_of(ip)) > 0; }

void Reputation::forget_nearest_neutral(Clock::time_point now) {
  // Ranked by |score| now; a running ban is kept whatever its score.
  std::vector<std::pair<double, Entry>> ranked;
  for (const auto& [id, s] : nodes_)
    if (!banned(s, now)) ranked.push_back({std::abs(decayed(s, now)), Entry{id.to_string(), true, 0, {}, {}}});
  for (const auto& [block, s] : blocks_)
    if (!banned(s, now)) ranked.push_back({std::abs(decayed(s, now)), Entry{block, false, 0, {}, {}}});
  const std::size_t excess = nodes_.size() + blocks_.size() - policy_.max_entries;
  const std::size_t drop = std::min(excess, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(drop), ranked.end(),
                    [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < drop; ++i) {
    const auto& entry = ranked[i].second;
    if (entry.is_node) {
      if (auto id = NodeId::from_string(entry.subject)) nodes_.erase(*id);
    } else {
      blocks_.erase(entry.subject);
    }
  }
}

std::vector<Reputation::Entry> Reputation::entries() const {
  std::vector<Entry> out;
  for (const auto& [id, s] : nodes_) out.push_back({id.to_string(), true, s.value, s.updated, s.banned_until});
  for (const auto& [block, s] : blocks_) out.push_back({block, false, s.value, s.updated, s.banned_until});
  return out;
}

void Reputation::restore(const std::vector<Entry>& entries, Clock::time_point now) {
  for (const auto& entry : entries) {
    if (!std::isfinite(entry.score)) continue;
    Score s{std::clamp(entry.score, policy_.min_score, policy_.max_score), std::min(entry.updated, now),
            entry.banned_until};
    if (entry.is_node) {
      if (auto id = NodeId::from_string(entry.subject)) nodes_[*id] = s;
    } else if (!entry.subject.empty()) {
      blocks_[entry.subject] = s;
    }
  }
  if (nodes_.size() + blocks_.size() > policy_.max_entries) forget_nearest_neutral(now);
}

}  // namespace datafold::net::detail
