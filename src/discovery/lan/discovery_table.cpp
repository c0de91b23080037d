#include "discovery/lan/discovery_table.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string_view>
#include <utility>

#include "core/relayed_address.hpp"
#include "core/ip_address.hpp"

namespace datafold::net::discovery {

namespace {

// Earlier instances remembered per node, so a replay of a restarted node's old
// datagrams is not taken for yet another restart.
constexpr std::size_t kMaxRetiredInstances = 4;

std::string join_host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

bool is_unspecified_host(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

bool plausible_lan_host(std::string_view host) {
  // Addresses come from the network: keep only what can be an IP or a host
  // name, so nothing odd reaches a log line or a resolver.
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == ':' || c == '-' || c == '_' || c == '%';
  });
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "fe80::1%eth0" -> "fe80::1".
std::string_view without_scope(std::string_view host) { return host.substr(0, host.find('%')); }

std::string_view scope_of(std::string_view host) {
  const auto percent = host.find('%');
  return percent == std::string_view::npos ? std::string_view{} : host.substr(percent + 1);
}

bool is_ipv6_link_local(std::string_view host) {
  const auto ip = detail::parse_ip(without_scope(host));
  return ip && ip->is_v6() && ip->to_v6().is_link_local();
}

// What the receiver knows about where a datagram came from.
struct Arrival {
  std::string source_ip;        // as the socket reported it, scoped if link-local IPv6
  std::string_view interface;   // the receiving interface, "" if unknown
  // The source itself, unscoped, when it is a link-local IPv6 address: then only
  // that link-local address of the sender is on this link.
  std::string source_link_local;
};

Arrival arrival_of(const std::string& source_ip, std::string_view arrival_interface) {
  Arrival a;
  a.source_ip = source_ip;
  a.interface = arrival_interface.empty() ? scope_of(source_ip) : arrival_interface;
  if (is_ipv6_link_local(source_ip)) a.source_link_local = std::string(without_scope(source_ip));
  return a;
}

// An advertised "ip", "ip:port", "[v6]:port" or bare v6 address made dialable:
// an unspecified host becomes the datagram's source, a missing port the
// announced TCP port, a link-local IPv6 host our own receiving interface as
// scope. nullopt when it cannot be dialled from here.
std::optional<std::string> resolve_address(std::string_view advertised, const Arrival& arrival,
                                           std::uint16_t tcp_port) {
  // A relayed address names the relay, wherever the datagram came from.
  if (detail::is_relayed_address(advertised)) {
    if (!detail::parse_relayed_address(advertised)) return std::nullopt;
    return std::string(advertised);
  }
  std::string_view host = advertised;
  std::optional<std::uint16_t> port;
  if (!advertised.empty() && advertised.front() == '[') {
    const auto close = advertised.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = advertised.substr(1, close - 1);
    const std::string_view rest = advertised.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = parse_port(rest.substr(1));
      if (!port) return std::nullopt;
    }
  } else if (std::count(advertised.begin(), advertised.end(), ':') == 1) {
    const auto colon = advertised.find(':');
    host = advertised.substr(0, colon);
    port = parse_port(advertised.substr(colon + 1));
    if (!port) return std::nullopt;
  }
  if (!plausible_lan_host(host)) return std::nullopt;
  const std::uint16_t p = port ? *port : tcp_port;
  if (p == 0) return std::nullopt;
  if (is_unspecified_host(without_scope(host))) {
    if (arrival.source_ip.empty() || !plausible_lan_host(arrival.source_ip)) return std::nullopt;
    return join_host_port(arrival.source_ip, p);
  }
  if (is_ipv6_link_local(host)) {
    const std::string_view bare = without_scope(host);
    if (!arrival.source_link_local.empty()) {
      const auto a = detail::parse_ip(bare);
      const auto b = detail::parse_ip(arrival.source_link_local);
      if (!a || !b || *a != *b) return std::nullopt;
    }
    // The sender's scope names one of its interfaces; ours is the one the datagram
    // came in on. Not known (an announcement relayed over IPv4 from afar): kept bare,
    // as the sender's scope would mislead.
    if (arrival.interface.empty() || !plausible_lan_host(arrival.interface)) return join_host_port(bare, p);
    return join_host_port(std::string(bare) + "%" + std::string(arrival.interface), p);
  }
  return join_host_port(host, p);
}

std::vector<std::string> resolve_addresses(const AnnouncementFields& a, const Arrival& arrival) {
  std::vector<std::string> out;
  for (const auto& advertised : a.addresses) {
    auto resolved = resolve_address(advertised, arrival, a.tcp_port);
    if (resolved && std::find(out.begin(), out.end(), *resolved) == out.end()) {
      out.push_back(std::move(*resolved));
    }
  }
  // No usable advertised address: the source is where the node is.
  if (out.empty() && a.tcp_port != 0) {
    if (auto resolved = resolve_address("", arrival, a.tcp_port)) out.push_back(std::move(*resolved));
  }
  return out;
}

std::uint32_t announcement_ttl_for(std::chrono::milliseconds lifetime) {
  const auto seconds = (lifetime.count() + 999) / 1000;
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(seconds, 1, 0xFFFFFFFF));
}

}  // namespace

std::string Destination::to_string() const {
  if (kind == Kind::Group) return "group";
  return join_host_port(ip, port);
}

DiscoveryCore::DiscoveryCore(DiscoveryConfig config, SendFn send)
    : config_(std::move(config)), send_(std::move(send)), instance_id_(Uuid::random()) {
  if (!config_.wall_clock) {
    config_.wall_clock = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (!config_.random) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    config_.random = [engine] { return (*engine)(); };
  }
  // Zero or negative settings would divide by zero or spin; treat them as the smallest sane value.
  config_.announcement_interval = std::max(config_.announcement_interval, std::chrono::milliseconds{1});
  config_.rate_limit_per_second = std::max(config_.rate_limit_per_second, 0.0);
  config_.rate_limit_burst = std::max(config_.rate_limit_burst, 1.0);
  config_.max_table_size = std::max<std::size_t>(config_.max_table_size, 1);
  config_.max_rate_limited_sources = std::max<std::size_t>(config_.max_rate_limited_sources, 1);
}

// ------------------------------------------------------------------ sending

std::int64_t DiscoveryCore::wall_now() const { return config_.wall_clock(); }

std::chrono::milliseconds DiscoveryCore::jittered_interval() {
  // Uniform in [0.9, 1.1] x interval, so nodes started together drift apart.
  const double unit = static_cast<double>(config_.random() >> 11) * 0x1.0p-53;
  const double factor = 0.9 + 0.2 * unit;
  const auto ms = static_cast<std::int64_t>(
      std::llround(static_cast<double>(config_.announcement_interval.count()) * factor));
  return std::chrono::milliseconds{std::max<std::int64_t>(ms, 1)};
}

std::string DiscoveryCore::build(DatagramKind kind, std::uint32_t ttl_seconds) {
  AnnouncementFields f;
  f.tcp_port = config_.tcp_port;
  f.addresses = config_.advertised_addresses;
  f.capabilities = config_.capabilities;
  f.min_version = 1;
  f.max_version = 1;
  f.network_name = config_.network_name;
  f.instance_id = instance_id_;
  f.sequence = next_sequence_++;
  f.timestamp_ms = wall_now();
  f.ttl_seconds = ttl_seconds;
  return encode_datagram(f, config_.identity, kind);
}

void DiscoveryCore::queue(Destination destination, std::string datagram) {
  ++counters_.sent;
  outbox_.push_back({std::move(destination), std::move(datagram)});
}

void DiscoveryCore::emit(NodeEvent event, const NodeInfo& info) {
  if (config_.on_event) events_.emplace_back(event, info);
}

void DiscoveryCore::flush() {
  // Swapped out first: a callback may re-enter and queue more.
  while (!outbox_.empty() || !events_.empty()) {
    auto outgoing = std::exchange(outbox_, {});
    auto events = std::exchange(events_, {});
    for (const auto& o : outgoing) {
      if (send_) send_(o.destination, o.datagram);
    }
    for (const auto& [event, info] : events) config_.on_event(event, info);
  }
}

void DiscoveryCore::start(TimePoint now) {
  if (running_) return;
  running_ = true;
  const auto kind = config_.probe_on_start ? DatagramKind::Probe : DatagramKind::Announcement;
  if (kind == DatagramKind::Probe) ++counters_.probes_sent;
  queue(Destination::group(), build(kind, announcement_ttl_for(entry_lifetime())));
  next_announce_ = now + jittered_interval();
  flush();
}

void DiscoveryCore::stop(TimePoint /*now*/) {
  if (!running_) return;
  running_ = false;
  replies_.clear();
  first_sight_due_.reset();
  ++counters_.goodbyes_sent;
  queue(Destination::group(), build(DatagramKind::Announcement, 0));
  flush();
}

bool DiscoveryCore::probe(TimePoint /*now*/) {
  if (!running_) return false;
  ++counters_.probes_sent;
  queue(Destination::group(), build(DatagramKind::Probe, announcement_ttl_for(entry_lifetime())));
  flush();
  return true;
}

bool DiscoveryCore::announce_presence(TimePoint /*now*/) {
  if (!running_) return false;
  queue(Destination::group(), build(DatagramKind::Announcement, announcement_ttl_for(entry_lifetime())));
  flush();
  return true;
}

void DiscoveryCore::set_advertised_addresses(std::vector<std::string> addresses) {
  config_.advertised_addresses = std::move(addresses);
}

// ------------------------------------------------------------------ receiving

void DiscoveryCore::on_datagram(const std::string& from_ip, std::uint16_t from_port,
                                std::span<const std::uint8_t> bytes, TimePoint now,
                                std::string_view arrival_interface) noexcept {
  receive(from_ip, from_port, bytes, true, arrival_interface, now);
}

void DiscoveryCore::on_signed_announcement(const std::string& from_ip,
                                           std::span<const std::uint8_t> signed_announcement,
                                           TimePoint now) noexcept {
  receive(from_ip, 0, signed_announcement, false, {}, now);
}

void DiscoveryCore::receive(const std::string& from_ip, std::uint16_t from_port,
                            std::span<const std::uint8_t> bytes, bool framed, std::string_view arrival_interface,
                            TimePoint now) noexcept {
  try {
    ++counters_.received;
    handle_datagram(from_ip, from_port, bytes, framed, arrival_interface, now);
    flush();
  } catch (...) {
    // Only allocation failure or a throwing callback gets here; the datagram
    // is dropped and the table stays as it was before or after the update.
    ++counters_.internal_error;
    outbox_.clear();
    events_.clear();
  }
}

bool DiscoveryCore::take_token(const std::string& ip, TimePoint now) {
  auto it = buckets_.find(ip);
  if (it == buckets_.end()) {
    if (buckets_.size() >= config_.max_rate_limited_sources) {
      // Forget sources whose bucket has refilled: they are indistinguishable
      // from new ones. At most one sweep per second, so a flood of spoofed
      // sources costs O(1) per datagram, not a scan each.
      if (!last_bucket_sweep_ || now - *last_bucket_sweep_ >= std::chrono::seconds{1}) {
        last_bucket_sweep_ = now;
        std::erase_if(buckets_, [&](const auto& kv) {
          const double elapsed = std::chrono::duration<double>(now - kv.second.updated).count();
          return kv.second.tokens + elapsed * config_.rate_limit_per_second >= config_.rate_limit_burst;
        });
      }
      if (buckets_.size() >= config_.max_rate_limited_sources) return false;
    }
    it = buckets_.emplace(ip, Bucket{config_.rate_limit_burst, now}).first;
  }
  Bucket& b = it->second;
  if (now > b.updated) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(config_.rate_limit_burst, b.tokens + elapsed * config_.rate_limit_per_second);
    b.updated = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

bool DiscoveryCore::make_room(TimePoint now) {
  if (table_.size() < config_.max_table_size) return true;
  // Goodbye tombstones and entries already past their expiry go first.
  for (auto it = table_.begin(); it != table_.end(); ++it) {
    if (it->second.departed || it->second.node.expires_at <= now) {
      if (!it->second.departed) {
        ++counters_.expired;
        emit(NodeEvent::Expired, it->second.node.info);
      }
      table_.erase(it);
      return true;
    }
  }
  // Known nodes are kept over new ones: a flood of fresh keys must not push
  // out the nodes we already talk to.
  return false;
}

void DiscoveryCore::handle_datagram(const std::string& from_ip, std::uint16_t from_port,
                                    std::span<const std::uint8_t> bytes, bool framed,
                                    std::string_view arrival_interface, TimePoint now) {
  // Before parsing: the signature check is the expensive part of a datagram.
  if (config_.refuse_sender && config_.refuse_sender(from_ip)) {
    ++counters_.banned;
    return;
  }
  if (!take_token(from_ip, now)) {
    ++counters_.rate_limited;
    return;
  }

  DatagramParse parsed;
  if (framed) {
    parsed = parse_datagram(bytes, config_.refuse_node);
  } else if (bytes.size() > kMaxDatagramBytes) {
    parsed.error = ParseError::TooLarge;
  } else {
    parsed = verify_signed_announcement(bytes, config_.refuse_node);
  }
  switch (parsed.error) {
    case ParseError::None: break;
    case ParseError::TooLarge: ++counters_.too_large; return;
    case ParseError::BadMagic: ++counters_.bad_magic; return;
    case ParseError::BadVersion: ++counters_.bad_version; return;
    case ParseError::Malformed: ++counters_.malformed; return;
    case ParseError::BadSignature:
      ++counters_.bad_signature;
      if (config_.on_forged) config_.on_forged(from_ip);
      return;
    case ParseError::IdMismatch:
      ++counters_.id_mismatch;
      if (config_.on_forged) config_.on_forged(from_ip);
      return;
    case ParseError::Refused: ++counters_.banned; return;
  }
  AnnouncementFields& a = parsed.fields;

  if (a.node_id == local_node_id()) {
    ++counters_.own;
    return;
  }
  if (a.network_name != config_.network_name) {
    ++counters_.other_network;
    return;
  }
  const std::int64_t skew_ms = config_.skew_window.count();
  const std::int64_t wall = wall_now();
  // Written so that no subtraction can overflow, whatever timestamp arrives.
  if (a.timestamp_ms < wall - skew_ms || a.timestamp_ms > wall + skew_ms) {
    ++counters_.skew;
    return;
  }
  // A prober that accepts no connections (a CLI looking around, perhaps with the
  // identity of a node that is running) is answered but not listed: nobody could
  // dial it, and taking its instance for the node's would retire the real one.
  if (a.tcp_port == 0 && a.addresses.empty()) {
    ++counters_.accepted;
    if (running_ && parsed.kind == DatagramKind::Probe) schedule_reply(from_ip, from_port, now);
    return;
  }

  auto it = table_.find(a.node_id);
  if (it != table_.end()) {
    Entry& e = it->second;
    if (a.instance_id == e.node.instance_id) {
      if (a.sequence == e.node.sequence) {
        ++counters_.duplicate;
        return;
      }
      if (a.sequence < e.node.sequence) {
        ++counters_.replay;
        return;
      }
    } else if (std::find(e.retired_instances.begin(), e.retired_instances.end(), a.instance_id) !=
               e.retired_instances.end()) {
      ++counters_.replay;
      return;
    }
  } else if (a.ttl_seconds != 0 && !make_room(now)) {
    ++counters_.table_full;
    return;
  }
  ++counters_.accepted;

  const bool goodbye = a.ttl_seconds == 0;
  if (goodbye) {
    ++counters_.goodbyes_received;
    // A goodbye from a node we don't know changes nothing.
    if (it == table_.end()) return;
    Entry& e = it->second;
    if (a.instance_id != e.node.instance_id) {
      if (e.retired_instances.size() == kMaxRetiredInstances) e.retired_instances.erase(e.retired_instances.begin());
      e.retired_instances.push_back(e.node.instance_id);
      e.node.instance_id = a.instance_id;
    }
    e.node.sequence = a.sequence;
    const bool was_listed = !e.departed;
    e.departed = true;
    // Kept, hidden, until the goodbye's own timestamp leaves the skew window:
    // until then an earlier datagram of this instance could be replayed.
    e.node.expires_at = now + 2 * config_.skew_window;
    if (was_listed) emit(NodeEvent::Departed, e.node.info);
    return;
  }

  const auto lifetime =
      std::min<std::chrono::milliseconds>(std::chrono::seconds{a.ttl_seconds}, entry_lifetime());
  const bool existed = it != table_.end();
  const bool is_new = !existed || it->second.departed;
  if (!existed) it = table_.emplace(a.node_id, Entry{}).first;
  Entry& e = it->second;

  const NodeInfo before = e.node.info;
  const std::vector<std::string> addresses_before = e.node.addresses;
  const Uuid previous_instance = e.node.instance_id;
  // A restart: the old instance must never be taken back.
  if (existed && a.instance_id != previous_instance) {
    if (e.retired_instances.size() == kMaxRetiredInstances) e.retired_instances.erase(e.retired_instances.begin());
    e.retired_instances.push_back(previous_instance);
  }
  e.departed = false;
  e.node.instance_id = a.instance_id;
  e.node.sequence = a.sequence;
  e.node.addresses = resolve_addresses(a, arrival_of(from_ip, arrival_interface));
  e.node.source = join_host_port(from_ip, from_port);
  e.node.last_heard = now;
  e.node.expires_at = now + lifetime;

  NodeInfo& info = e.node.info;
  info.node_id = a.node_id;
  info.public_key = a.public_key;
  info.address = e.node.addresses.empty() ? std::string{} : e.node.addresses.front();
  info.capabilities = a.capabilities;
  info.last_seen = std::chrono::system_clock::time_point{std::chrono::milliseconds{wall}};
  info.health = NodeHealth::Healthy;
  info.addresses.clear();
  for (const auto& address : e.node.addresses)
    info.addresses.push_back(NodeAddress{.address = address,
                                         .source = detail::is_relayed_address(address) ? AddressSource::Relay
                                                                                       : AddressSource::Lan,
                                         .last_seen = info.last_seen});

  if (is_new) {
    emit(NodeEvent::Discovered, info);
  } else if (info.address != before.address || e.node.addresses != addresses_before ||
             !(info.capabilities == before.capabilities) || a.instance_id != previous_instance) {
    emit(NodeEvent::Updated, info);
  }

  if (!running_) return;
  if (parsed.kind == DatagramKind::Probe) {
    // The reply tells the prober about us, so no first-sight announcement too.
    schedule_reply(from_ip, from_port, now);
  } else if (is_new) {
    schedule_first_sight(now);
  }
}

void DiscoveryCore::schedule_first_sight(TimePoint now) {
  TimePoint due = now;
  if (last_first_sight_) due = std::max(due, *last_first_sight_ + config_.first_sight_min_gap);
  // One pending at most: it announces us to every node that appeared meanwhile.
  if (!first_sight_due_) first_sight_due_ = due;
  if (*first_sight_due_ <= now) {
    first_sight_due_.reset();
    last_first_sight_ = now;
    ++counters_.first_sight_announcements_sent;
    queue(Destination::group(), build(DatagramKind::Announcement, announcement_ttl_for(entry_lifetime())));
  }
}

void DiscoveryCore::schedule_reply(const std::string& ip, std::uint16_t port, TimePoint now) {
  if (port == 0) return;  // nowhere to answer
  Destination destination = Destination::unicast(ip, port);
  // A prober asking twice before we answered gets one answer.
  for (const auto& r : replies_) {
    if (r.destination == destination) return;
  }
  if (replies_.size() >= config_.max_pending_replies) return;
  const auto max_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(config_.probe_reply_max_delay.count(), 0));
  const auto delay = std::chrono::milliseconds{static_cast<std::int64_t>(config_.random() % (max_ms + 1))};
  replies_.push_back({std::move(destination), now + delay});
}

// ------------------------------------------------------------------ timer

void DiscoveryCore::on_timer(TimePoint now) {
  if (running_) {
    if (now >= next_announce_) {
      queue(Destination::group(), build(DatagramKind::Announcement, announcement_ttl_for(entry_lifetime())));
      next_announce_ = now + jittered_interval();
    }
    if (first_sight_due_ && *first_sight_due_ <= now) {
      first_sight_due_.reset();
      last_first_sight_ = now;
      ++counters_.first_sight_announcements_sent;
      queue(Destination::group(), build(DatagramKind::Announcement, announcement_ttl_for(entry_lifetime())));
    }
    std::string reply;  // one signed datagram serves every reply due now
    std::erase_if(replies_, [&](const PendingReply& r) {
      if (r.due > now) return false;
      if (reply.empty()) reply = build(DatagramKind::Announcement, announcement_ttl_for(entry_lifetime()));
      ++counters_.probe_replies_sent;
      queue(r.destination, reply);
      return true;
    });
  }
  expire(now);
  flush();
}

void DiscoveryCore::expire(TimePoint now) {
  for (auto it = table_.begin(); it != table_.end();) {
    if (it->second.node.expires_at <= now) {
      if (!it->second.departed) {
        ++counters_.expired;
        emit(NodeEvent::Expired, it->second.node.info);
      }
      it = table_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<TimePoint> DiscoveryCore::next_wakeup() const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  if (running_) {
    consider(next_announce_);
    if (first_sight_due_) consider(*first_sight_due_);
    for (const auto& r : replies_) consider(r.due);
  }
  for (const auto& [id, e] : table_) consider(e.node.expires_at);
  return next;
}

// ------------------------------------------------------------------ table

std::unordered_map<NodeId, NodeInfo> DiscoveryCore::known_nodes() const {
  std::unordered_map<NodeId, NodeInfo> out;
  out.reserve(table_.size());
  for (const auto& [id, e] : table_) {
    if (!e.departed) out.emplace(id, e.node.info);
  }
  return out;
}

std::optional<DiscoveredNode> DiscoveryCore::find(const NodeId& id) const {
  auto it = table_.find(id);
  if (it == table_.end() || it->second.departed) return std::nullopt;
  return it->second.node;
}

std::size_t DiscoveryCore::size() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(table_.begin(), table_.end(), [](const auto& kv) { return !kv.second.departed; }));
}

bool DiscoveryCore::refresh(const NodeId& id, TimePoint now) {
  auto it = table_.find(id);
  if (it == table_.end() || it->second.departed) return false;
  DiscoveredNode& n = it->second.node;
  n.last_heard = now;
  n.expires_at = std::max(n.expires_at, now + entry_lifetime());
  n.info.last_seen = std::chrono::system_clock::time_point{std::chrono::milliseconds{wall_now()}};
  n.info.health = NodeHealth::Healthy;
  return true;
}

bool DiscoveryCore::remove(const NodeId& id) { return table_.erase(id) > 0; }

}  // namespace datafold::net::discovery
