// fold_db's HTTP routes, answered with fold_db's shapes, so a fold_db client works
// unchanged against `datafold node` (../shared/reference/fold_db/ROUTES.md):
//   POST /api/network/init|start|stop       {"success": true} (init and start take no body, or any JSON object)
//   GET  /api/network/status                {"data": {node_id, initialized, connected_nodes_count}}
//   POST /api/network/connect {"node_id"}   {"success": true}: known, or found through discovery or the DHT
//   POST /api/network/discover              {"data": [node id, …]}
//   GET  /api/network/nodes                 {"data": {node id: {id, trust_distance}}}
//   GET  /api/schemas                       {"data": {name: "Approved"}}
//   POST /api/schema (the schema)           201 {"success": true}
//   GET  /api/schema/{name}                 the schema as it was added, no envelope
//   POST /api/query {"type": "query", …}    {"data": [{field: value, …} per row]}
//   POST /api/mutation                      {"success": true}
//   POST /api/execute {"operation": "…"}    {"data": …}: a query's rows, or a mutation's counts
// Errors are {"error": "…"}: 400 for a request that cannot be read, 404 for a schema
// that does not exist on /api/schema/{name}, 500 otherwise, as fold_db answered. The
// project's own answers, richer, are under /api/v1 (http_api.hpp).
#pragma once

#include <datafold/net/network_core.hpp>

#include "http_api.hpp"

namespace httplib {
class Server;
}

namespace datafold::app {

// `local` must outlive `server`'s handlers (HttpApi owns both).
void install_fold_db_routes(httplib::Server& server, net::NetworkCore& core, const HttpApi::LocalData& local);

}  // namespace datafold::app
