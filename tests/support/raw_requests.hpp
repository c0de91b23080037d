// Requests a RawTlsClient sends by hand, for attackers that speak the protocol but
// misbehave around it (too many at once, never reading the replies).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "datafold/net/message.hpp"
#include "support/raw_tls_client.hpp"

namespace datafold::net::testing {

// A query whose trust proof names the raw client's own key, as the node requires.
QueryMessage raw_query(const RawTlsClient& raw, std::string schema, std::optional<Json> filter = std::nullopt);

// The frames of `messages` back to back, to go out in one write.
std::string frames_of(const std::vector<Message>& messages);

}  // namespace datafold::net::testing
