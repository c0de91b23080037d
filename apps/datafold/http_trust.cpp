#include "http_trust.hpp"

#include <httplib.h>

#include "http_replies.hpp"

namespace datafold::app {

void install_trust_routes(httplib::Server& server, net::NetworkCore& core) {
  server.Post("/api/v1/trust/reload", [&core](const httplib::Request&, httplib::Response& res) {
    auto& store = core.trust_store();
    // A malformed file is the caller's to fix: it comes back as a Config error (400),
    // and the node keeps the last good contents meanwhile.
    if (auto reloaded = store.reload(); !reloaded) return reply_network_error(res, reloaded.error());
    reply_data(res, {{"entries", store.entries().size()}});
  });
}

}  // namespace datafold::app
