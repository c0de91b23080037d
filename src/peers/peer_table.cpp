#include "peers/peer_table.hpp"

#include <algorithm>

#include "core/endpoint.hpp"

namespace datafold::net::detail {

namespace {

std::uint64_t seed_from(std::uint64_t seed) { return seed != 0 ? seed : std::random_device{}(); }

}  // namespace

PeerTable::PeerTable(PeerTableConfig config)
    : config_(std::move(config)),
      links_(config_.self, config_.links, config_.link_facts),
      jitter_(seed_from(config_.random_seed)) {}

void PeerTable::start() { running_ = true; }

void PeerTable::stop() {
  running_ = false;
  dials_.clear();
  dial_for_node_.clear();
}

void PeerTable::clear_connections() {
  links_.clear();
  for (auto& [id, peer] : known_) peer.redial.reset();  // a restarted node starts with a clean slate
  bootstrap_backoff_.clear();
}

WallTime PeerTable::wall_now() const {
  return config_.wall_clock ? config_.wall_clock() : std::chrono::system_clock::now();
}

PeerTable::Peer& PeerTable::peer_entry(const NodeId& id) {
  auto [it, inserted] = known_.try_emplace(id);
  if (inserted) {
    it->second.info.node_id = id;
    it->second.addresses = AddressBook(config_.max_addresses_per_node);
  }
  return it->second;
}

NodeInfo PeerTable::view(const Peer& peer) const {
  NodeInfo out = peer.info;
  out.addresses = peer.addresses.in_dial_order();
  out.address = out.addresses.empty() ? std::string{} : out.addresses.front().address;
  return out;
}

std::vector<NodeInfo> PeerTable::known() const {
  std::vector<NodeInfo> out;
  out.reserve(known_.size());
  for (const auto& [id, peer] : known_) out.push_back(view(peer));
  return out;
}

std::optional<NodeInfo> PeerTable::find(const NodeId& id) const {
  auto it = known_.find(id);
  if (it == known_.end()) return std::nullopt;
  return view(it->second);
}

void PeerTable::forget(const NodeId& id) { known_.erase(id); }

// ------------------------------------------------------------------ known nodes

void PeerTable::add_known(NodeInfo info) {
  if (!info.public_key.empty() && info.public_key.node_id() != info.node_id) return;  // not that node's key
  Peer& peer = peer_entry(info.node_id);
  const auto wall = wall_now();
  bool new_address = false;
  for (const auto& address : info.addresses)
    if (!address.address.empty()) new_address = peer.addresses.add(address.address, address.source, wall) || new_address;
  if (!info.address.empty()) new_address = peer.addresses.add(info.address, AddressSource::Manual, wall) || new_address;

  const auto health = peer.info.health;
  const auto version = peer.info.protocol_version;
  peer.info = std::move(info);
  peer.info.address.clear();
  peer.info.addresses.clear();
  if (peer.info.health == NodeHealth::Unknown) peer.info.health = health;
  if (peer.info.protocol_version == 0) peer.info.protocol_version = version;
  // A new address is worth trying at once, whatever the old ones did.
  if (new_address && peer.redial) {
    peer.redial->backoff.reset();
    peer.info.failed_dials = 0;
  }
}

std::optional<RedialOrder> PeerTable::on_announced(const NodeInfo& node, AddressSource source, PeerTime now) {
  Peer& peer = peer_entry(node.node_id);
  std::vector<std::string> addresses;
  for (const auto& address : node.addresses)
    if (!address.address.empty()) addresses.push_back(address.address);
  if (addresses.empty() && !node.address.empty()) addresses.push_back(node.address);
  // An announcement without a usable address changes none (the node is where it was).
  if (!addresses.empty()) peer.addresses.replace_from(source, addresses, wall_now());

  peer.info.public_key = node.public_key;
  peer.info.capabilities = node.capabilities;
  peer.info.last_seen = node.last_seen;
  peer.info.trust_distance = node.trust_distance;
  // A fresh signed announcement is a sign of life: worth dialling again, at once.
  peer.info.health = NodeHealth::Healthy;
  peer.info.failed_dials = 0;
  peer.lost_from_lan = false;
  if (!peer.redial) return std::nullopt;
  peer.redial->backoff.reset();
  if (peer.redial->wanted && !links_.link_for(node.node_id)) return schedule_redial(node.node_id, *peer.redial, now);
  return std::nullopt;
}

void PeerTable::on_lan_lost(const NodeId& id) {
  auto it = known_.find(id);
  if (it == known_.end()) return;
  // A node we still hold a connection to is not gone, whatever the LAN says; if that
  // connection dies too, it goes then.
  if (links_.link_for(id)) {
    it->second.lost_from_lan = true;
  } else {
    forget(id);
  }
}

void PeerTable::forget_oldest_addressless() {
  // Called as each one-shot client leaves, under the node's lock: a node that served
  // thousands of them must not scan every known peer each time. Every connected peer
  // is known, so the peers known beyond those connected bound the address-less ones
  // without a connection; the scan runs only when that bound passes the limit, and
  // then forgets down to an eighth below it, so the next scan is an eighth away.
  const std::size_t limit = config_.max_addressless_known;
  if (known_.size() <= limit + links_.peers_linked()) return;
  std::vector<std::pair<WallTime, NodeId>> addressless;
  for (const auto& [id, peer] : known_)
    if (peer.addresses.empty() && !links_.link_for(id)) addressless.emplace_back(peer.info.last_seen, id);
  if (addressless.size() <= limit) return;
  const std::size_t excess = addressless.size() - (limit - limit / 8);
  std::nth_element(addressless.begin(), addressless.begin() + static_cast<std::ptrdiff_t>(excess - 1),
                   addressless.end());
  for (std::size_t i = 0; i < excess; ++i) known_.erase(addressless[i].second);
}

// ------------------------------------------------------------------ connections

Adoption PeerTable::on_authenticated(const AuthenticatedLink& link) {
  Adoption adoption = links_.adopt(link.link, link.peer, link.inbound, link.remote_ip, running_);
  if (adoption.verdict != Adoption::Verdict::Adopted) return adoption;

  Peer& peer = peer_entry(link.peer);
  const auto wall = wall_now();
  peer.info.public_key = link.public_key;
  peer.info.protocol_version = link.protocol_version;
  peer.info.capabilities = link.capabilities;
  peer.info.trust_distance = link.trust_distance;
  peer.info.last_seen = wall;
  peer.info.health = NodeHealth::Healthy;
  peer.info.failed_dials = 0;
  if (peer.redial) {
    if (peer.redial->persistent) {
      peer.redial->backoff.reset();
      peer.redial->wanted = false;
      ++peer.redial->generation;  // a redial still scheduled has nothing to do
    } else {
      peer.redial.reset();
    }
  }
  if (!link.dialled_address.empty()) {
    if (!peer.addresses.contains(link.dialled_address))
      peer.addresses.add(link.dialled_address, link.dialled_source, wall);
    peer.addresses.record_success(link.dialled_address, wall);
  } else if (link.inbound && link.listen_port != 0 && !link.remote_ip.empty()) {
    // Where it came from, at the port it says it listens on: a guess (behind a NAT
    // it is wrong), tried after what the node or others declared.
    peer.addresses.add(format_host_port(canonical_ip(link.remote_ip), link.listen_port), AddressSource::Inbound, wall);
  }
  return adoption;
}

LinkClosure PeerTable::on_link_closed(LinkId link, bool failed, const std::string& reason, PeerTime now) {
  LinkClosure out;
  const auto closed = links_.on_closed(link);
  if (!closed.held_slot) return out;  // a duplicate, or never adopted: says nothing about the peer
  out.peer_gone = true;
  out.peer = closed.peer;
  auto it = known_.find(closed.peer);
  if (it == known_.end()) return out;
  Peer& peer = it->second;
  if (peer.lost_from_lan) {
    forget(closed.peer);
  } else if (peer.addresses.empty()) {
    // A peer that dialled in and gave no address (a one-shot client) stays known,
    // so `trust set` can name it, but only so many: new keys cost nothing.
    forget_oldest_addressless();
  } else if (running_ && failed) {
    // A connection that failed (peer gone, reset, silent) makes the node unreachable
    // until it is heard from again; one we retired ourselves says nothing about it.
    // Only what this node dialled is redialled: a peer that dialled in wanted us, not
    // we it, and will dial again if it still does.
    peer.info.health = NodeHealth::Unreachable;
    if (!closed.inbound) {
      if (!peer.redial) peer.redial = Redial{};
      Redial& redial = *peer.redial;
      redial.wanted = true;
      redial.last_error = reason;
      const auto delay = redial.backoff.record_failure(config_.redial, now, jitter_);
      out.redial = schedule_redial(closed.peer, redial, now + delay);
    }
  }
  return out;
}

// ------------------------------------------------------------------ dialling

ConnectionPlan PeerTable::plan_connection(const NodeId& id, PeerTime now) {
  ConnectionPlan plan;
  if (!running_) {
    plan.error = make_error(ErrorKind::Connection, "node is stopped");
    return plan;
  }
  if (auto link = open_link(id)) {
    plan.kind = ConnectionPlan::Kind::Use;
    plan.link = *link;
    return plan;
  }
  if (auto dial = dial_for_node_.find(id); dial != dial_for_node_.end()) {
    plan.kind = ConnectionPlan::Kind::Join;
    plan.ticket = dial->second;
    return plan;
  }
  auto it = known_.find(id);
  if (it == known_.end() || it->second.addresses.empty()) {
    plan.error = make_error(ErrorKind::Discovery, "node " + id.short_string() + " is not known: discover it or add its address");
    return plan;
  }
  // Its last dial failed and the wait is not over: say so now rather than spend
  // another connect timeout on a peer that is probably still down.
  if (const auto& redial = it->second.redial; redial && redial->backoff.waiting(now)) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(redial->backoff.next_attempt() - now);
    plan.error = make_error(ErrorKind::Connection, "node " + id.short_string() + " is unreachable (" +
                                                       redial->last_error + "); next dial in " +
                                                       std::to_string(wait.count()) + " ms");
    return plan;
  }
  plan.kind = ConnectionPlan::Kind::Dial;
  plan.ticket = next_ticket_++;
  for (const auto& address : it->second.addresses.in_dial_order()) plan.addresses.push_back(address.address);
  dials_[plan.ticket] = id;
  dial_for_node_[id] = plan.ticket;
  return plan;
}

std::optional<LinkId> PeerTable::open_link(const NodeId& id) const {
  if (!running_) return std::nullopt;
  auto link = links_.link_for(id);
  if (!link || config_.link_facts(*link).state != ConnectionState::Open) return std::nullopt;
  return link;
}

std::optional<DialTicket> PeerTable::begin_address_dial() {
  if (!running_) return std::nullopt;
  const DialTicket ticket = next_ticket_++;
  dials_[ticket] = std::nullopt;
  return ticket;
}

std::optional<NodeId> PeerTable::end_dial(DialTicket ticket) {
  auto it = dials_.find(ticket);
  if (it == dials_.end()) return std::nullopt;
  const auto expected = it->second;
  dials_.erase(it);
  if (expected) {
    if (auto dial = dial_for_node_.find(*expected); dial != dial_for_node_.end() && dial->second == ticket)
      dial_for_node_.erase(dial);
  }
  return expected;
}

DialFailure PeerTable::on_dial_failed(const NodeId& id, const NetworkError& error, PeerTime now) {
  DialFailure out;
  auto it = known_.find(id);
  if (it == known_.end()) return out;  // forgotten meanwhile: nothing to chase
  Peer& peer = it->second;
  if (!peer.redial) peer.redial = Redial{};
  Redial& redial = *peer.redial;
  const auto delay = redial.backoff.record_failure(config_.redial, now, jitter_);
  redial.last_error = error.message;
  peer.info.health = NodeHealth::Unreachable;
  peer.info.failed_dials = redial.backoff.failures();
  out.failures = redial.backoff.failures();
  if (!redial.wanted) return out;
  if (redial.persistent || redial.backoff.failures() <= config_.redial_max_attempts) {
    out.redial = schedule_redial(id, redial, now + delay);
  } else {
    // Still known (discovery or a request may bring it back); just no longer chased.
    redial.wanted = false;
    out.gave_up = true;
  }
  return out;
}

std::optional<RedialOrder> PeerTable::schedule_redial(const NodeId& id, Redial& redial, PeerTime at) {
  if (!running_) return std::nullopt;
  return RedialOrder{id, at, ++redial.generation};
}

bool PeerTable::redial_due(const NodeId& id, std::uint64_t generation) const {
  if (!running_) return false;
  auto it = known_.find(id);
  if (it == known_.end() || !it->second.redial) return false;  // forgotten, or reconnected
  const Redial& redial = *it->second.redial;
  if (redial.generation != generation || !redial.wanted) return false;  // superseded
  return !links_.link_for(id) && dial_for_node_.count(id) == 0;
}

// ------------------------------------------------------------------ bootstrap peers

void PeerTable::on_bootstrap_connected(const std::string& address, const NodeId& id) {
  bootstrap_backoff_.erase(address);
  auto it = known_.find(id);
  if (it == known_.end()) return;
  if (!it->second.redial) it->second.redial = Redial{};
  it->second.redial->persistent = true;
}

std::chrono::milliseconds PeerTable::on_bootstrap_failed(const std::string& address, PeerTime now) {
  return bootstrap_backoff_[address].record_failure(config_.redial, now, jitter_);
}

}  // namespace datafold::net::detail
