#include "store_serving.hpp"

#include <functional>
#include <string_view>

#include <spdlog/spdlog.h>

#include "store/read_policy.hpp"
#include "store/store_query_handler.hpp"

namespace datafold::app {

void configure_for_store(net::NetworkConfig& config) {
  // Every peer's request reads the store, whose calls share one SQLite connection under
  // its lock: a second handler thread could only wait for it (a futex sleep and wake
  // per turn; the store answers a fifth more with one). Until the store keeps a
  // connection per thread, one thread answers, a turn of requests at a time.
  config.handler_threads = 1;
}

void serve_store(net::NetworkCore& core, const std::shared_ptr<store::SqliteStore>& data) {
  // Schemas' allow-lists may name keys; the names are the trust store's.
  data->set_reader_names([&core](std::string_view name) { return core.trust_store().key_named(name); });

  // Decided per requester: the verified key and effective distance, never the client's word.
  // A page at a time: answers of any size go out in parts, and limits end in cursors.
  core.set_page_callback([data](const net::Query& query, const net::PageRequest& page,
                                const net::RequestContext& requester) {
    // Checked first: the arguments (the requester id in base32) are made even when debug is off.
    if (page.position.empty() && spdlog::should_log(spdlog::level::debug))
      spdlog::debug("query from {}: {} ({} fields, requester {})", requester.node_id.short_string(),
                    query.schema_name, query.fields.size(),
                    store::requester_distance_text(requester.trust_distance));
    return store::answer_query_page(*data, query, requester, page);
  });
  core.set_schema_list_callback(
      [data](const net::RequestContext& requester) { return store::visible_schemas(*data, requester); });
  // The turns of peers' waiting requests taken together read one state of the store,
  // in one read transaction: SQLite's locks are taken once for them, not once a query.
  // Should it not begin, each query begins its own and reports the error.
  core.set_turn_scope([data](const std::function<void()>& answer) {
    (void)data->read_snapshot([&answer](store::SqliteStore::Snapshot&) { answer(); });
  });
}

}  // namespace datafold::app
