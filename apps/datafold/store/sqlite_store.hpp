// SqliteStore: the node's schemas and rows in one SQLite file in the data dir.
//
// Several processes may use the same file at once: the running node answers queries while
// `datafold schema add` and `datafold insert` write from another process. The file is in
// WAL mode with a busy timeout, and every call reads SQLite afresh (there is no cache), so
// the node serves another process's committed write on its very next query.
//
// Tables: schemas(name, definition) with the schema in fold_db's JSON shape (to_json), and
// rows(id, schema, json) with one JSON object per row. Filters use json_extract.
//
// Errors are values: ErrorKind::Config for bad input (unknown schema or field, a value of
// the wrong type, a malformed filter), ErrorKind::Message for storage failures (with
// SQLite's message). Nothing throws.
//
// Thread safety: calls on one SqliteStore are serialized by an internal mutex, so the
// node's I/O threads may share one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>

#include "store/schema_definition.hpp"

namespace datafold::store {

class SqliteStore {
 public:
  // How long a call waits for another process's write transaction before failing.
  static constexpr std::chrono::milliseconds kBusyTimeout{5000};
  // The table layout this code writes (PRAGMA user_version); a newer file is refused.
  static constexpr int kFormatVersion = 1;

  // Opens (creating if absent) the database at `path` and its tables. The parent
  // directory must exist. Fails with Message if the file cannot be opened or is not a
  // datafold database this version understands.
  static net::NetworkResult<SqliteStore> open(const std::filesystem::path& path);

  SqliteStore(SqliteStore&&) noexcept;
  SqliteStore& operator=(SqliteStore&&) noexcept;
  ~SqliteStore();

  const std::filesystem::path& path() const noexcept;

  // Adds `schema`, or replaces the schema of the same name (its rows are kept; a row's
  // values for fields the new schema lacks are no longer served). Config if `schema` is
  // not one schema_from_json would accept.
  net::NetworkResult<void> add_schema(const SchemaDefinition& schema);

  // Every schema, by name.
  net::NetworkResult<std::vector<SchemaDefinition>> list_schemas();

  // The schema called `name`, or nullopt if there is none.
  net::NetworkResult<std::optional<SchemaDefinition>> get_schema(std::string_view name);

  // Inserts `rows` (one JSON object {field: value}, or an array of them) into schema
  // `schema_name`; returns how many were inserted. All or nothing: Config naming the row
  // and field at fault (unknown schema, a key that is not a field, a value that does not
  // match the field's declared "type"; null fits every type) and nothing is inserted.
  // A row may omit fields; they read as null.
  net::NetworkResult<std::size_t> insert_rows(std::string_view schema_name, const net::Json& rows);

  // How many rows schema `schema_name` holds (0 for an unknown schema).
  net::NetworkResult<std::uint64_t> count_rows(std::string_view schema_name);

  // Selects `fields` from the rows of `schema` that match `filter`, a JSON object
  // {field: value} requiring each named field to equal its value (JSON equality: 1 and
  // 1.0 are equal, 1 and true are not; a missing field equals null). No filter, or a JSON
  // null one, selects every row.
  //
  // Returns one JSON array per requested field, in request order, holding that field's
  // value in each matching row, in insertion order (null where a row lacks it); the
  // arrays are aligned, so index i of each is the same row. (fold_db answers one value
  // per field; a list over the matching rows is this store's shape.)
  // Config if a field or filter key is not in the schema, or the filter is not an object.
  net::NetworkResult<std::vector<net::Json>> query(const SchemaDefinition& schema,
                                                   const std::vector<std::string>& fields,
                                                   const std::optional<net::Json>& filter = std::nullopt);
  // As above, looking the schema up by name first (Config if there is none).
  net::NetworkResult<std::vector<net::Json>> query(std::string_view schema_name,
                                                   const std::vector<std::string>& fields,
                                                   const std::optional<net::Json>& filter = std::nullopt);

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace datafold::store
