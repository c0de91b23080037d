#include "relay/relay_book.hpp"

#include <algorithm>

namespace datafold::net::detail {

RelayBook::Verdict RelayBook::reserve(const NodeId& node, const std::string& ip, Holder holder) {
  const auto from_ip = [&](const std::string& address) {
    return static_cast<std::size_t>(std::count_if(reservations_.begin(), reservations_.end(), [&](const auto& entry) {
      return entry.first != node && entry.second.ip == address;
    }));
  };
  if (auto it = reservations_.find(node); it != reservations_.end()) {
    // Renewed, or moved to the node's newer connection, which may come from another
    // IP: that IP's limit holds as for a new reservation.
    if (it->second.ip != ip && from_ip(ip) >= limits_.max_reservations_per_ip) {
      counters_.reservations_refused++;
      return {false, "more than " + std::to_string(limits_.max_reservations_per_ip) + " reservations from " + ip, true};
    }
    it->second = Reservation{ip, holder};
    return {true, {}};
  }
  if (reservations_.size() >= limits_.max_reservations) {
    counters_.reservations_refused++;
    return {false, "relay full: " + std::to_string(limits_.max_reservations) + " reservations"};
  }
  if (from_ip(ip) >= limits_.max_reservations_per_ip) {
    counters_.reservations_refused++;
    return {false, "more than " + std::to_string(limits_.max_reservations_per_ip) + " reservations from " + ip, true};
  }
  reservations_.emplace(node, Reservation{ip, holder});
  return {true, {}};
}

void RelayBook::release(Holder holder) {
  std::erase_if(reservations_, [holder](const auto& entry) { return entry.second.holder == holder; });
}

std::optional<RelayBook::Holder> RelayBook::holder_of(const NodeId& node) const {
  auto it = reservations_.find(node);
  if (it == reservations_.end()) return std::nullopt;
  return it->second.holder;
}

std::size_t RelayBook::circuits_of(const NodeId& node) const {
  return static_cast<std::size_t>(std::count_if(circuits_.begin(), circuits_.end(), [&](const auto& entry) {
    return entry.second.caller == node || entry.second.target == node;
  }));
}

std::size_t RelayBook::circuits_running() const {
  return static_cast<std::size_t>(
      std::count_if(circuits_.begin(), circuits_.end(), [](const auto& entry) { return entry.second.joined == 2; }));
}

RelayBook::Offer RelayBook::open_circuit(const NodeId& caller, const NodeId& target, const RelayToken& token,
                                         Clock::time_point now) {
  Offer offer;
  auto reservation = reservations_.find(target);
  if (reservation == reservations_.end()) {
    counters_.circuits_refused++;
    offer.status = RelayResponseMessage::Status::NoReservation;
    offer.why = "no reservation here for " + target.short_string();
    return offer;
  }
  auto refuse = [&](std::string why) {
    counters_.circuits_refused++;
    offer.status = RelayResponseMessage::Status::Refused;
    offer.why = std::move(why);
    return offer;
  };
  if (caller == target) {
    offer.abuse = true;
    return refuse("a circuit to oneself");
  }
  if (circuits_.size() >= limits_.max_circuits)
    return refuse("relay busy: " + std::to_string(limits_.max_circuits) + " circuits");
  if (circuits_of(caller) >= limits_.max_circuits_per_peer) {
    offer.abuse = true;
    return refuse("more than " + std::to_string(limits_.max_circuits_per_peer) + " circuits for " +
                  caller.short_string());
  }
  if (circuits_of(target) >= limits_.max_circuits_per_peer)
    return refuse("more than " + std::to_string(limits_.max_circuits_per_peer) + " circuits for " +
                  target.short_string());
  if (!circuits_.emplace(token, Circuit{caller, target, now, 0}).second) return refuse("token already in use");
  offer.status = RelayResponseMessage::Status::Ok;
  offer.target_holder = reservation->second.holder;
  return offer;
}

void RelayBook::cancel(const RelayToken& token) { circuits_.erase(token); }

RelayBook::Join RelayBook::join(const RelayToken& token) {
  auto it = circuits_.find(token);
  if (it == circuits_.end() || it->second.joined >= 2) {
    counters_.joins_refused++;
    return Join::Unknown;
  }
  if (++it->second.joined == 2) {
    counters_.circuits_opened++;
    return Join::Second;
  }
  return Join::First;
}

void RelayBook::end(const RelayToken& token) { circuits_.erase(token); }

std::vector<RelayToken> RelayBook::expire(Clock::time_point now) {
  std::vector<RelayToken> out;
  for (auto it = circuits_.begin(); it != circuits_.end();) {
    if (it->second.joined < 2 && now - it->second.opened >= limits_.join_timeout) {
      counters_.circuits_expired++;
      out.push_back(it->first);
      it = circuits_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace datafold::net::detail
