// Helpers for tests of relays on loopback (relay_test, relay_faults_test, hole_punch_test).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "datafold/net/network_core.hpp"

namespace datafold::net::testing {

// Waits (up to 15 s) until `node` holds `count` reservations; its first relayed
// address, or "" if that never came.
std::string wait_for_relayed_address(const NetworkCore& node, std::size_t count = 1);

// `from` knows `to` only at `addresses` (relayed ones).
void know_only_at(NetworkCore& from, const NetworkCore& to, const std::vector<std::string>& addresses);

}  // namespace datafold::net::testing
