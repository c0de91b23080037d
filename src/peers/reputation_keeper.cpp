#include "peers/reputation_keeper.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include <spdlog/spdlog.h>

#include "core/ip_address.hpp"
#include "peers/reputation_file.hpp"

namespace datafold::net::detail {

namespace {

ReputationPolicy policy_of(const ReputationSettings& settings) {
  ReputationPolicy policy;
  policy.half_life = settings.half_life;
  policy.avoid_below = settings.avoid_below;
  policy.ban_below = settings.ban_below;
  policy.ban_duration = settings.ban_duration;
  return policy;
}

// "2001:db8::/64" → "2001:db8::"; anything else as given.
std::string_view without_block_suffix(std::string_view subject) {
  if (subject.size() > 3 && subject.substr(subject.size() - 3) == "/64") subject.remove_suffix(3);
  return subject;
}

}  // namespace

ReputationKeeper::ReputationKeeper(ReputationSettings settings, TrustedFn trusted, ClockFn clock)
    : settings_(std::move(settings)),
      trusted_(std::move(trusted)),
      clock_(clock ? std::move(clock) : ClockFn([] { return Clock::now(); })),
      reputation_(policy_of(settings_)) {}

NetworkResult<void> ReputationKeeper::load() {
  if (!enabled() || settings_.file.empty()) return {};
  auto contents = load_reputation_file(settings_.file);
  if (!contents) return std::move(contents).error();
  if (contents->skipped_lines > 0)
    spdlog::warn("reputation file {}: {} damaged line(s) skipped", settings_.file, contents->skipped_lines);
  std::lock_guard lock(mutex_);
  reputation_.restore(contents->entries, now());
  changed_ = false;
  return {};
}

NetworkResult<void> ReputationKeeper::save_if_changed() {
  if (!enabled() || settings_.file.empty()) return {};
  std::vector<Reputation::Entry> entries;
  {
    std::lock_guard lock(mutex_);
    if (!changed_) return {};
    entries = reputation_.entries();
    changed_ = false;
  }
  auto saved = save_reputation_file(settings_.file, entries);
  if (!saved) {
    std::lock_guard lock(mutex_);
    changed_ = true;  // try again next time
  }
  return saved;
}

std::string ReputationKeeper::charged_ip(std::string_view ip) const {
  const auto parsed = parse_ip(ip);
  if (parsed && settings_.charge_loopback_addresses) return ip_text(*parsed);
  if (!parsed || parsed->is_loopback()) return {};
  return ip_text(*parsed);
}

bool ReputationKeeper::trusted(const std::optional<NodeId>& node) const {
  return node && trusted_ && trusted_(*node);
}

void ReputationKeeper::record(PeerEvent event, const std::optional<NodeId>& node, std::string_view ip,
                              unsigned times) {
  if (!enabled() || times == 0) return;
  const bool fault = weight_of(event) < 0;
  // The trust store is asked only when a fault could ban: good events are the
  // hot path (a minute's answered requests) and never ban anyone.
  const bool is_trusted = fault && trusted(node);
  const std::string charged = charged_ip(ip);
  const auto at = now();
  std::lock_guard lock(mutex_);
  const PeerState before = reputation_.state(node, charged, is_trusted, at);
  reputation_.record(event, node, charged, is_trusted, at, times);
  changed_ = true;
  if (!fault) return;
  if (node) faulted_since_tick_.insert(*node);
  const PeerState after = reputation_.state(node, charged, is_trusted, at);
  if (after == before) return;
  const std::string who = node ? node->short_string() : std::string("a peer");
  const std::string where = charged.empty() ? std::string() : " at " + charged;
  if (after == PeerState::Banned) {
    spdlog::warn("banned {}{} for {} s: score {:.1f} after {}", who, where, settings_.ban_duration.count(),
                 reputation_.score(node, charged, at), to_string(event));
  } else if (after == PeerState::WouldBeBanned && node && told_would_be_banned_.insert(*node).second) {
    spdlog::warn("trusted node {}{} is past the ban threshold (score {:.1f} after {}); not banned because it is "
                 "in the trust store: `datafold reputation ban` bans it",
                 who, where, reputation_.score(node, charged, at), to_string(event));
  } else if (after == PeerState::Avoided) {
    spdlog::info("avoiding {}{}: score {:.1f} after {}", who, where, reputation_.score(node, charged, at),
                 to_string(event));
  }
}

PeerState ReputationKeeper::state(const std::optional<NodeId>& node, std::string_view ip) const {
  if (!enabled()) return PeerState::Neutral;
  const bool is_trusted = trusted(node);
  const std::string charged = charged_ip(ip);
  std::lock_guard lock(mutex_);
  return reputation_.state(node, charged, is_trusted, now());
}

double ReputationKeeper::score(const std::optional<NodeId>& node, std::string_view ip) const {
  if (!enabled()) return 0;
  const std::string charged = charged_ip(ip);
  std::lock_guard lock(mutex_);
  return reputation_.score(node, charged, now());
}

bool ReputationKeeper::avoided(const NodeId& node) const {
  const PeerState s = state(node, "");
  return s == PeerState::Avoided || s == PeerState::Banned;
}

bool ReputationKeeper::refuse_ip(std::string_view ip) {
  if (!enabled()) return false;
  const std::string charged = charged_ip(ip);
  if (charged.empty()) return false;
  bool refused = false;
  {
    std::lock_guard lock(mutex_);
    refused = reputation_.ip_banned(charged, now());
  }
  if (refused) refused_banned_++;
  return refused;
}

bool ReputationKeeper::refuse_node(const NodeId& node) {
  if (!enabled()) return false;
  bool refused = false;
  {
    std::lock_guard lock(mutex_);
    refused = reputation_.node_banned(node, now());
  }
  if (refused) refused_banned_++;
  return refused;
}

void ReputationKeeper::tick_connected(const std::vector<std::pair<NodeId, std::string>>& connected) {
  if (!enabled()) return;
  std::set<NodeId> faulted;
  {
    std::lock_guard lock(mutex_);
    faulted.swap(faulted_since_tick_);
  }
  for (const auto& [node, ip] : connected)
    if (!faulted.count(node)) record(PeerEvent::ConnectedMinute, node, ip);
}

NetworkResult<ReputationKeeper::Subject> ReputationKeeper::parse_subject(std::string_view subject) {
  if (auto id = NodeId::from_string(subject)) return Subject{*id, {}};
  const auto ip = without_block_suffix(subject);
  if (parse_ip(ip)) return Subject{std::nullopt, std::string(ip)};
  return make_error(ErrorKind::Config, "'" + std::string(subject) +
                                           "' is neither a whole node id (52 characters) nor an IP address");
}

NetworkResult<void> ReputationKeeper::ban(std::string_view subject, std::chrono::seconds duration) {
  if (!enabled()) return make_error(ErrorKind::Config, "reputation is off on this node");
  if (duration.count() <= 0) return make_error(ErrorKind::Config, "a ban must last at least a second");
  auto parsed = parse_subject(subject);
  if (!parsed) return std::move(parsed).error();
  std::lock_guard lock(mutex_);
  if (parsed->node) {
    reputation_.ban_node(*parsed->node, duration, now());
  } else {
    reputation_.ban_ip(parsed->ip, duration, now());
  }
  changed_ = true;
  spdlog::warn("operator banned {} for {} s", subject, duration.count());
  return {};
}

NetworkResult<bool> ReputationKeeper::unban(std::string_view subject) {
  auto parsed = parse_subject(subject);
  if (!parsed) return std::move(parsed).error();
  std::lock_guard lock(mutex_);
  const bool found = parsed->node ? reputation_.unban_node(*parsed->node) : reputation_.unban_ip(parsed->ip);
  if (parsed->node) told_would_be_banned_.erase(*parsed->node);
  changed_ = changed_ || found;
  return found;
}

NetworkResult<bool> ReputationKeeper::reset(std::string_view subject) {
  auto parsed = parse_subject(subject);
  if (!parsed) return std::move(parsed).error();
  std::lock_guard lock(mutex_);
  const bool found = parsed->node ? reputation_.reset_node(*parsed->node) : reputation_.reset_ip(parsed->ip);
  if (parsed->node) told_would_be_banned_.erase(*parsed->node);
  changed_ = changed_ || found;
  return found;
}

std::vector<std::string> ReputationKeeper::order_by_host(
    std::vector<std::string> addresses, const std::function<std::string(const std::string&)>& host_of) const {
  if (!enabled() || addresses.size() < 2) return addresses;
  std::vector<std::pair<double, std::string>> ranked;
  ranked.reserve(addresses.size());
  for (auto& address : addresses) {
    const auto host = host_of(address);
    const auto standing = state(std::nullopt, host);
    const double rank = standing == PeerState::Avoided || standing == PeerState::Banned
                            ? -std::numeric_limits<double>::infinity()
                            : score(std::nullopt, host);
    ranked.emplace_back(rank, std::move(address));
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  addresses.clear();
  for (auto& [rank, address] : ranked) addresses.push_back(std::move(address));
  return addresses;
}

std::vector<ReputationEntry> ReputationKeeper::entries() const {
  if (!enabled()) return {};
  std::vector<Reputation::Entry> raw;
  {
    std::lock_guard lock(mutex_);
    raw = reputation_.entries();
  }
  std::vector<ReputationEntry> out;
  out.reserve(raw.size());
  for (const auto& entry : raw) {
    ReputationEntry view;
    view.subject = entry.subject;
    view.is_node = entry.is_node;
    std::optional<NodeId> node;
    std::string ip;
    if (entry.is_node) {
      node = NodeId::from_string(entry.subject);
    } else {
      ip = std::string(without_block_suffix(entry.subject));
    }
    const bool is_trusted = trusted(node);
    const auto at = now();
    std::lock_guard lock(mutex_);
    // A node's own score here, without any address's penalty: the entry is the id's.
    view.score = reputation_.score(node, node ? std::string_view{} : std::string_view(ip), at);
    view.state = reputation_.state(node, node ? std::string_view{} : std::string_view(ip), is_trusted, at);
    if (entry.banned_until && *entry.banned_until > at) view.banned_until = entry.banned_until;
    out.push_back(std::move(view));
  }
  return out;
}

ReputationStats ReputationKeeper::stats() const {
  ReputationStats out;
  out.refused_banned = refused_banned_.load();
  if (!enabled()) return out;
  std::array<std::uint64_t, kPeerEventKinds> counts{};
  {
    std::lock_guard lock(mutex_);
    counts = reputation_.event_counts();
  }
  for (std::size_t i = 0; i < kPeerEventKinds; ++i)
    out.events.emplace_back(std::string(to_string(static_cast<PeerEvent>(i))), counts[i]);
  std::map<PeerState, std::uint64_t> by_state;
  for (auto state : {PeerState::Neutral, PeerState::Good, PeerState::Avoided, PeerState::Banned,
                     PeerState::WouldBeBanned})
    by_state[state] = 0;
  for (const auto& entry : entries()) by_state[entry.state]++;
  for (const auto& [state, count] : by_state) out.subjects_by_state.emplace_back(std::string(to_string(state)), count);
  return out;
}

}  // namespace datafold::net::detail
