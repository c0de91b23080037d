// Helpers to start real nodes on loopback with port 0 for tests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "datafold/net/network_core.hpp"

namespace datafold::net::testing {

// A config for a node on 127.0.0.1, port 0, with test-sized deadlines.
NetworkConfig loopback_config();

// Creates and starts a node; fails the current test (and returns nullptr) on error.
std::unique_ptr<NetworkCore> start_node(NetworkConfig config = loopback_config());

// Tells `from` where `to` listens.
void introduce(NetworkCore& from, const NetworkCore& to);

// "127.0.0.1:<port>" of a started node.
std::string address_of(const NetworkCore& node);

// Polls `condition` until it holds or `deadline` passes; true if it held.
// For conditions on another thread's progress that no event exposes.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline = std::chrono::seconds(5));

}  // namespace datafold::net::testing
