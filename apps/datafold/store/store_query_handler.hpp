// The node's answers to peers from its SqliteStore: what QueryService and SchemaService
// callbacks call. Every read policy is applied here, from the verified RequestContext.
#pragma once

#include <vector>

#include <datafold/net/query.hpp>
#include <datafold/net/query_service.hpp>
#include <datafold/net/request_context.hpp>
#include <datafold/net/schema_info.hpp>

#include "store/sqlite_store.hpp"

namespace datafold::store {

// Answers `query` for `requester`: one entry per requested field, in request order.
// A readable field's value is the JSON array of its values over the rows matching the
// filter (any shape parse_filter accepts; see SqliteStore::query). Otherwise the entry
// holds a SchemaError:
//   NotFound           every field, when the schema does not exist;
//   InvalidField       a field the schema lacks;
//   InvalidPermission  a field the requester's effective distance and key may not read,
//                      saying what distance it needs; every field if any filter clause uses
//                      such a field (filtering on a field would reveal its values);
//   InvalidDSL         every field, when the filter is not a JSON object, parse_filter
//                      refuses it, or it names a field the schema lacks;
//   InvalidData        every field, when the store fails.
// The network layer sends an answer whose every field fails alike as one Error
// (net::refusal_of): SCHEMA_NOT_FOUND, INVALID_DSL, or PERMISSION_DENIED when nothing
// asked for may be read.
// Reads SQLite afresh, so writes by another process show at once. Never throws.
net::QueryResult answer_query(SqliteStore& store, const net::Query& query, const net::RequestContext& requester);

// The same a page at a time (QueryService::PageCallback): the rows after `page.position`
// (the id of the last row of the previous page, in decimal; "" for the first), at most
// page.max_rows and about page.max_bytes of stored rows, and where the next page starts
// ("" when no rows remain). Each page costs about its own rows with an indexed equality
// filter, however large the table (SqliteStore::query_page).
net::QueryPage answer_query_page(SqliteStore& store, const net::Query& query, const net::RequestContext& requester,
                                 const net::PageRequest& page);

// The schemas `requester` may read at least one field of, by name, each with every field's
// name, declared type and whether `requester` may read it. Empty if the store cannot be
// read: a schema listing has no slot for an error.
std::vector<net::SchemaInfo> visible_schemas(SqliteStore& store, const net::RequestContext& requester);

}  // namespace datafold::store
