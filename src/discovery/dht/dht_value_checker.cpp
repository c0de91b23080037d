#include "discovery/dht/dht_value_checker.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace datafold::net::discovery {

namespace {

std::span<const std::uint8_t> value_bytes(const std::string& s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

DhtVerdict verdict_for(ParseError error) noexcept {
  switch (error) {
    case ParseError::None: return DhtVerdict::Accepted;
    case ParseError::TooLarge: return DhtVerdict::Oversize;
    case ParseError::BadSignature: return DhtVerdict::BadSignature;
    case ParseError::IdMismatch: return DhtVerdict::IdMismatch;
    case ParseError::Refused: return DhtVerdict::Refused;
    case ParseError::BadMagic:
    case ParseError::BadVersion:
    case ParseError::Malformed: return DhtVerdict::Malformed;
  }
  return DhtVerdict::Malformed;
}

// Which of two verified announcements of one node is the current one.
bool newer(const AnnouncementFields& a, const AnnouncementFields& b) noexcept {
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms > b.timestamp_ms;
  return a.sequence > b.sequence;
}

}  // namespace

void DhtValueCounters::count(DhtVerdict verdict) noexcept {
  ++read;
  switch (verdict) {
    case DhtVerdict::Accepted: ++accepted; break;
    case DhtVerdict::Superseded: ++superseded; break;
    case DhtVerdict::Oversize: ++oversize; break;
    case DhtVerdict::Malformed: ++malformed; break;
    case DhtVerdict::BadSignature: ++bad_signature; break;
    case DhtVerdict::IdMismatch: ++id_mismatch; break;
    case DhtVerdict::WrongKey: ++wrong_key; break;
    case DhtVerdict::ForeignNetwork: ++foreign_network; break;
    case DhtVerdict::Stale: ++stale; break;
    case DhtVerdict::Future: ++future; break;
    case DhtVerdict::Replayed: ++replayed; break;
    case DhtVerdict::Refused: ++refused; break;
  }
}

DhtValueChecker::DhtValueChecker(DhtCheckerConfig config)
    : config_(std::move(config)), instances_(config_.max_instances), newest_(config_.max_instances) {
  config_.max_instances = std::max<std::size_t>(config_.max_instances, 1);
  config_.skew_window = std::clamp(config_.skew_window, std::chrono::milliseconds{0},
                                   std::chrono::milliseconds{kMaxDhtValueLifetime});
}

DhtValueCheck DhtValueChecker::examine(std::span<const std::uint8_t> data, const DhtKeyRef& key,
                                       std::int64_t now_ms) const {
  DhtValueCheck out;
  out.bytes = data.size();
  if (data.size() > kMaxDhtValueBytes) {
    out.verdict = DhtVerdict::Oversize;
    return out;
  }
  DatagramParse parsed = verify_signed_announcement(data, config_.refuse_node);
  out.verdict = verdict_for(parsed.error);
  if (!parsed.ok()) return out;
  const AnnouncementFields& f = out.fields.emplace(std::move(parsed.fields));

  if (key.kind == DhtKeyRef::Kind::Node && f.node_id != key.node_id) {
    out.verdict = DhtVerdict::WrongKey;
    return out;
  }
  if (f.network_name != config_.network_name) {
    out.verdict = DhtVerdict::ForeignNetwork;
    return out;
  }
  // now_ms is a real clock reading and both spans are capped, so these sums stay
  // far from overflow whatever timestamp the value claims.
  const std::int64_t skew = config_.skew_window.count();
  const auto lifetime_s = std::min<std::int64_t>(f.ttl_seconds, kMaxDhtValueLifetime.count());
  if (f.timestamp_ms > now_ms + skew) {
    out.verdict = DhtVerdict::Future;
  } else if (f.timestamp_ms < now_ms - lifetime_s * 1000 - skew) {
    out.verdict = DhtVerdict::Stale;
  }
  return out;
}

std::vector<DhtValueCheck> DhtValueChecker::classify(std::span<const std::string> values, const DhtKeyRef& key,
                                                     std::int64_t now_ms) const {
  std::vector<DhtValueCheck> out;
  std::unordered_set<std::string_view> distinct;
  for (const std::string& value : values) {
    if (!distinct.insert(value).second) continue;
    out.push_back(examine(value_bytes(value), key, now_ms));
  }

  // Replay: the highest sequence of each instance, here or verified before, wins.
  std::unordered_map<Uuid, std::uint64_t> highest;
  for (const auto& c : out) {
    if (c.verdict != DhtVerdict::Accepted) continue;
    auto [it, inserted] = highest.try_emplace(c.fields->instance_id, c.fields->sequence);
    if (!inserted) it->second = std::max(it->second, c.fields->sequence);
  }
  for (auto& [instance, sequence] : highest) {
    if (const auto* before = instances_.find(instance)) sequence = std::max(sequence, *before);
  }
  for (auto& c : out) {
    if (c.verdict == DhtVerdict::Accepted && c.fields->sequence < highest[c.fields->instance_id]) {
      c.verdict = DhtVerdict::Replayed;
    }
  }

  // Newest per node: a restarted node's earlier instance may still be stored.
  std::unordered_map<NodeId, std::size_t> newest;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].verdict != DhtVerdict::Accepted) continue;
    auto [it, inserted] = newest.try_emplace(out[i].fields->node_id, i);
    if (inserted) continue;
    DhtValueCheck& current = out[it->second];
    if (newer(*out[i].fields, *current.fields)) {
      current.verdict = DhtVerdict::Superseded;
      it->second = i;
    } else {
      out[i].verdict = DhtVerdict::Superseded;
    }
  }
  for (auto& c : out)
    if (c.verdict == DhtVerdict::Accepted && outdated(*c.fields, now_ms)) c.verdict = DhtVerdict::Superseded;
  return out;
}

std::vector<DhtValueCheck> DhtValueChecker::check(std::span<const std::string> values, const DhtKeyRef& key,
                                                  std::int64_t now_ms) {
  std::vector<DhtValueCheck> out = classify(values, key, now_ms);
  for (const auto& c : out) {
    counters_.count(c.verdict);
    if (is_verified(c.verdict)) {
      auto& highest = instances_.touch(c.fields->instance_id);
      highest = std::max(highest, c.fields->sequence);
    }
    if (c.verdict == DhtVerdict::Accepted) remember(*c.fields);
  }
  return out;
}

bool DhtValueChecker::outdated(const AnnouncementFields& f, std::int64_t now_ms) const {
  const Newest* newest = newest_.find(f.node_id);
  return newest != nullptr && newest->instance != f.instance_id && newest->timestamp_ms > f.timestamp_ms &&
         now_ms <= newest->expires_ms;
}

void DhtValueChecker::remember(const AnnouncementFields& f) {
  Newest& newest = newest_.touch(f.node_id);
  if (newest.timestamp_ms >= f.timestamp_ms && newest.expires_ms != 0) return;
  // Believed as long as the value itself is fresh (examine's rule): an instance
  // outdated by it wins again once it has expired, as the DHT itself forgets it.
  const auto lifetime_s = std::min<std::int64_t>(f.ttl_seconds, kMaxDhtValueLifetime.count());
  newest = Newest{f.instance_id, f.timestamp_ms, f.timestamp_ms + lifetime_s * 1000 + config_.skew_window.count()};
}

}  // namespace datafold::net::discovery
