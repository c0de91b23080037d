// AddressBook: every address one node may be reached at (DESIGN.md section 10.1),
// merged from every source that gave one, bounded, and read in the order a dial
// tries them. Socket-free and not thread-safe (PeerTable, its owner, is locked by
// the node).
//
// Dial order:
//  1. addresses a connection to the node has authenticated through, most recent first
//     (the best predictor of the next success);
//  2. LAN addresses;
//  3. what the node or the user declared: mapped, DHT, bootstrap, manual;
//  4. guesses: a peer's report, the address its connection to us came from;
//  5. relayed addresses, which cost a relay's bandwidth, last.
// Within a group, the most recently seen first, then IPv6 and IPv4 interleaved
// (RFC 8305 section 4: the family of the first, then the other, alternating), so
// one broken family costs one stagger, not the whole list.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "datafold/net/node_info.hpp"

namespace datafold::net::detail {

class AddressBook {
 public:
  using WallTime = std::chrono::system_clock::time_point;
  static constexpr std::size_t kDefaultCapacity = 16;

  explicit AddressBook(std::size_t capacity = kDefaultCapacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // `source` gave `address` at `now`. An address already known keeps one entry: its
  // last_seen moves on, and it takes `source` unless that would rank it lower (a
  // LAN address reported by a peer stays a LAN address). Past the capacity the
  // address seen longest ago goes. True if the address was new.
  bool add(const std::string& address, AddressSource source, WallTime now);
  // A source that lists every address it knows (a LAN or DHT announcement): its
  // earlier addresses missing from `addresses` go, the rest are added as by add().
  // True if any address was new.
  bool replace_from(AddressSource source, const std::vector<std::string>& addresses, WallTime now);
  // A connection through `address` authenticated as the node. False if unknown.
  bool record_success(const std::string& address, WallTime now);
  void clear() noexcept { entries_.clear(); }

  // Every address, in the order a dial tries them (see above).
  std::vector<NodeAddress> in_dial_order() const;
  bool contains(const std::string& address) const;
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  void drop_oldest_past_capacity();

  std::size_t capacity_;
  std::vector<NodeAddress> entries_;  // in the order first given (the tie-break)
};

// The group of section "Dial order" above a source falls in: lower dials first.
int dial_rank(AddressSource source) noexcept;
// True for "[v6]:port" (link-local with its scope too); false for IPv4 and names.
bool is_ipv6_address(const std::string& address);
// An IP as an address book writes it: an IPv4-mapped IPv6 address (what a
// dual-stack listener sees of an IPv4 peer) as the IPv4 address; else unchanged.
std::string canonical_ip(const std::string& ip);

}  // namespace datafold::net::detail
