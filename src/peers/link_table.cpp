#include "peers/link_table.hpp"

#include <algorithm>

#include <asio/ip/address.hpp>

namespace datafold::net::detail {

LinkTable::LinkTable(NodeId self, LinkLimits limits, LinkFactsFn facts)
    : self_(self), limits_(limits), facts_(std::move(facts)) {}

bool LinkTable::is_loopback(const std::string& ip) {
  std::error_code ec;
  auto address = asio::ip::make_address(ip, ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
  return address.is_loopback();
}

std::size_t LinkTable::evicting_count() const {
  return static_cast<std::size_t>(std::count_if(links_.begin(), links_.end(), [](const auto& l) { return l.second.evicting; }));
}

std::optional<LinkId> LinkTable::least_recently_used_idle() const {
  std::optional<LinkId> oldest;
  PeerTime oldest_activity{};
  for (const auto& [id, link] : links_) {
    if (link.evicting) continue;
    const LinkFacts facts = facts_(id);
    if (facts.state != ConnectionState::Open || !facts.idle) continue;
    // Ties go to the smaller id (the older connection), so the choice does not
    // depend on the map's order.
    if (!oldest || facts.last_activity < oldest_activity ||
        (facts.last_activity == oldest_activity && id < *oldest)) {
      oldest = id;
      oldest_activity = facts.last_activity;
    }
  }
  return oldest;
}

bool LinkTable::admit_inbound(const std::string& ip) {
  const bool room = links_.size() - evicting_count() + handshaking_ < limits_.max_connections ||
                    (handshaking_ < limits_.max_handshakes_over_cap && least_recently_used_idle().has_value());
  const bool ip_room = is_loopback(ip) || per_ip_[ip] < limits_.max_connections_per_ip;
  if (!room || !ip_room) {
    if (auto it = per_ip_.find(ip); it != per_ip_.end() && it->second == 0) per_ip_.erase(it);
    return false;
  }
  ++handshaking_;
  ++per_ip_[ip];
  return true;
}

void LinkTable::inbound_handshake_failed(const std::string& ip) {
  if (handshaking_ > 0) --handshaking_;  // clear() may have reset it meanwhile
  release_ip(ip);
}

void LinkTable::release_ip(const std::string& ip) {
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

Adoption LinkTable::adopt(LinkId link, const NodeId& peer, bool inbound, const std::string& ip, bool accepting) {
  if (inbound && handshaking_ > 0) --handshaking_;  // clear() may have reset it
  Adoption out;
  const auto refuse = [&](Adoption::Verdict verdict) {
    if (inbound) release_ip(ip);
    out.verdict = verdict;
    return out;
  };
  if (peer == self_) return refuse(Adoption::Verdict::Self);
  if (!accepting) return refuse(Adoption::Verdict::Stopped);

  // A second connection to a peer already connected (both dialled at once) needs no
  // room: one of the two is retired below.
  const auto existing = in_use_.find(peer);
  const bool pairs_with_existing =
      existing != in_use_.end() && facts_(existing->second).state != ConnectionState::Closed;
  if (!pairs_with_existing && links_.size() - evicting_count() >= limits_.max_connections) {
    // Full, whoever dialled: close the connection used longest ago with nothing in
    // flight (a few at a time, so connections being closed cannot pile up past the
    // cap), or, if every one is busy, turn the newcomer away.
    if (evicting_count() < limits_.max_evictions_in_progress) out.evict = least_recently_used_idle();
    if (!out.evict) return refuse(Adoption::Verdict::Full);
    links_[*out.evict].evicting = true;
  }
  links_[link] = Link{peer, inbound, inbound ? ip : std::string{}, false};
  if (pairs_with_existing) {
    // Two connections to one peer: both nodes keep the same one without talking about
    // it. A direct one beats a relayed one (a hole punch, or a dial back, replacing
    // the circuit: both ends see which is which); otherwise the one the smaller id
    // dialled. The other finishes what it carries.
    const bool we_are_smaller = self_ < peer;
    const bool new_was_dialled_by_smaller = inbound != we_are_smaller;
    const bool new_relayed = facts_(link).relayed;
    const bool existing_relayed = facts_(existing->second).relayed;
    const bool keep_new = new_relayed != existing_relayed ? !new_relayed : new_was_dialled_by_smaller;
    if (keep_new) {
      out.retire = existing->second;
      existing->second = link;
    } else {
      out.retire = link;
    }
  } else {
    in_use_[peer] = link;
  }
  out.verdict = Adoption::Verdict::Adopted;
  out.use = in_use_[peer];
  return out;
}

LinkTable::Closed LinkTable::on_closed(LinkId link) {
  Closed out;
  auto it = links_.find(link);
  if (it == links_.end()) return out;
  out.known = true;
  out.peer = it->second.peer;
  out.inbound = it->second.inbound;
  if (out.inbound) release_ip(it->second.ip);
  links_.erase(it);
  if (auto slot = in_use_.find(out.peer); slot != in_use_.end() && slot->second == link) {
    in_use_.erase(slot);
    out.held_slot = true;
  }
  return out;
}

std::optional<LinkId> LinkTable::link_for(const NodeId& peer) const {
  auto it = in_use_.find(peer);
  if (it == in_use_.end()) return std::nullopt;
  return it->second;
}

std::vector<NodeId> LinkTable::connected() const {
  std::vector<NodeId> out;
  for (const auto& [peer, link] : in_use_)
    if (facts_(link).state == ConnectionState::Open) out.push_back(peer);
  return out;
}

std::vector<LinkId> LinkTable::links() const {
  std::vector<LinkId> out;
  out.reserve(links_.size());
  for (const auto& [id, link] : links_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

void LinkTable::clear() {
  links_.clear();
  in_use_.clear();
  per_ip_.clear();
  handshaking_ = 0;
}

}  // namespace datafold::net::detail
