// The HTTP API's reputation routes (`datafold reputation`) and metrics:
//   GET  /api/v1/reputation          {"entries": [...worst first], "stats": {...}}
//   POST /api/v1/reputation/ban      {"subject": node id | IP, "seconds": n (default 3600)}
//   POST /api/v1/reputation/unban    {"subject": …}   → {"subject", "found"}
//   POST /api/v1/reputation/reset    {"subject": …}   → {"subject", "found"}
#pragma once

#include <string>

#include <datafold/net/network_core.hpp>

namespace httplib {
class Server;
}

namespace datafold::app {

void install_reputation_routes(httplib::Server& server, net::NetworkCore& core);
// Prometheus lines: subjects per state, events per kind, refusals for a ban.
std::string reputation_metrics(const net::NetworkCore& core);

}  // namespace datafold::app
