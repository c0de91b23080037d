#include "peers/address_book.hpp"

#include <algorithm>

#include <asio/ip/address.hpp>

#include "core/endpoint.hpp"

namespace datafold::net::detail {

namespace {

constexpr int kSucceededGroup = 0;

int group_of(const NodeAddress& entry) {
  return entry.last_success != AddressBook::WallTime{} ? kSucceededGroup : dial_rank(entry.source);
}

// RFC 8305 section 4: keep the first address's family first, then alternate, each
// family keeping its own order.
void interleave_families(std::vector<NodeAddress>& group) {
  if (group.size() < 2) return;
  const bool first_is_v6 = is_ipv6_address(group.front().address);
  std::vector<NodeAddress> same, other;
  for (auto& entry : group) (is_ipv6_address(entry.address) == first_is_v6 ? same : other).push_back(std::move(entry));
  group.clear();
  for (std::size_t i = 0; i < std::max(same.size(), other.size()); ++i) {
    if (i < same.size()) group.push_back(std::move(same[i]));
    if (i < other.size()) group.push_back(std::move(other[i]));
  }
}

}  // namespace

int dial_rank(AddressSource source) noexcept {
  switch (source) {
    case AddressSource::Lan: return 1;
    case AddressSource::Mapped:
    case AddressSource::Dht:
    case AddressSource::Bootstrap:
    case AddressSource::Manual: return 2;
    case AddressSource::PeerReport:
    case AddressSource::Inbound: return 3;
    case AddressSource::Relay: return 4;
  }
  return 3;
}

bool is_ipv6_address(const std::string& address) {
  auto parsed = parse_host_port(address);
  return parsed && parsed->host.find(':') != std::string::npos;
}

std::string canonical_ip(const std::string& ip) {
  std::error_code ec;
  auto address = asio::ip::make_address(ip, ec);
  if (ec || !address.is_v6() || !address.to_v6().is_v4_mapped()) return ip;
  return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
}

bool AddressBook::add(const std::string& address, AddressSource source, WallTime now) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.address == address; });
  if (it != entries_.end()) {
    it->last_seen = std::max(it->last_seen, now);
    if (dial_rank(source) <= dial_rank(it->source)) it->source = source;
    return false;
  }
  entries_.push_back(NodeAddress{address, source, now, {}});
  drop_oldest_past_capacity();
  return true;
}

bool AddressBook::replace_from(AddressSource source, const std::vector<std::string>& addresses, WallTime now) {
  std::erase_if(entries_, [&](const NodeAddress& e) {
    return e.source == source && std::find(addresses.begin(), addresses.end(), e.address) == addresses.end();
  });
  bool any_new = false;
  for (const auto& address : addresses) any_new = add(address, source, now) || any_new;
  return any_new;
}

bool AddressBook::record_success(const std::string& address, WallTime now) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.address == address; });
  if (it == entries_.end()) return false;
  it->last_success = std::max(it->last_success, now);
  it->last_seen = std::max(it->last_seen, now);
  return true;
}

bool AddressBook::contains(const std::string& address) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.address == address; });
}

void AddressBook::drop_oldest_past_capacity() {
  while (entries_.size() > capacity_) {
    // Seen longest ago goes; among equals, one that never worked before one that did,
    // then the one given first.
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      if (a.last_seen != b.last_seen) return a.last_seen < b.last_seen;
      return a.last_success < b.last_success;
    });
    entries_.erase(oldest);
  }
}

std::vector<NodeAddress> AddressBook::in_dial_order() const {
  std::vector<NodeAddress> sorted = entries_;
  // Stable: equal entries keep the order they were first given in.
  std::stable_sort(sorted.begin(), sorted.end(), [](const NodeAddress& a, const NodeAddress& b) {
    const int ga = group_of(a), gb = group_of(b);
    if (ga != gb) return ga < gb;
    if (ga == kSucceededGroup) return a.last_success > b.last_success;
    return a.last_seen > b.last_seen;
  });
  std::vector<NodeAddress> out;
  out.reserve(sorted.size());
  for (auto begin = sorted.begin(); begin != sorted.end();) {
    const int group = group_of(*begin);
    auto end = std::find_if(begin, sorted.end(), [&](const auto& e) { return group_of(e) != group; });
    std::vector<NodeAddress> run(std::make_move_iterator(begin), std::make_move_iterator(end));
    interleave_families(run);
    for (auto& entry : run) out.push_back(std::move(entry));
    begin = end;
  }
  return out;
}

}  // namespace datafold::net::detail
