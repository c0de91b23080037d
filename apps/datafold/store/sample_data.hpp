// The `datafold node --sample` seed: a "UserProfile" schema in fold_db's shape whose
// fields carry different read policies, and a few rows, so a first run shows trust at work:
//   username, display_name  NoRequirement  (anyone, even an unknown node)
//   email                   Distance 1     (nodes trusted at distance 0 or 1)
//   phone                   Distance 0     (this node only)
#pragma once

#include <cstddef>
#include <string_view>

#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>

#include "store/schema_definition.hpp"
#include "store/sqlite_store.hpp"

namespace datafold::store {

inline constexpr std::string_view kSampleSchemaName = "UserProfile";

// The sample schema's file, as an operator would write it for `datafold schema add`.
const net::Json& sample_schema_json();
SchemaDefinition sample_schema();
// The sample rows, as `datafold insert UserProfile FILE` would take them.
const net::Json& sample_rows();

// Adds (or replaces) the sample schema and, if it holds no rows yet, inserts the sample
// rows: seeding twice leaves one copy. Returns how many rows were inserted.
net::NetworkResult<std::size_t> seed_sample(SqliteStore& store);

}  // namespace datafold::store
