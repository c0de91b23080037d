// A node under attack serves fixed, checkable answers, so a well-behaved peer can
// tell a correct answer from a stale, mixed-up or truncated one while the attack runs.
#pragma once

#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "datafold/net/network_core.hpp"

namespace datafold::net::testing {

// What the node lists to every peer.
const std::vector<SchemaInfo>& known_schemas();

// The answer to `query`: field "schema" holds the schema name; if the filter has
// "token", field "token" echoes it; if it has "padding" (a byte count), field
// "padding" is a string that long (for tests that want big replies).
QueryResult known_answer(const Query& query);

// Installs known_schemas() and known_answer() as the node's callbacks. `before_answering`,
// if set, runs first on the handler thread (a test may block there to hold a request).
void serve_known_answers(NetworkCore& node, std::function<void(const Query&)> before_answering = {});

// The peer lists `node`'s schemas and queries it with a fresh token; success only
// if both answers are exactly the known ones.
::testing::AssertionResult gets_correct_answers(NetworkCore& peer, const NodeId& node);

}  // namespace datafold::net::testing
