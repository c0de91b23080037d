// SqliteStore: the node's schemas and rows in one SQLite file in the data dir.
//
// Several processes may use the same file at once: the running node answers queries while
// `datafold schema add` and `datafold insert` write from another process. The file is in
// WAL mode with a busy timeout, and every call reads SQLite afresh (no rows are cached;
// SQLite's 64 MB page cache is checked against the file on every read), so the node
// serves another process's committed write on its very next query.
//
// Tables: schemas(name, definition) with the schema in fold_db's JSON shape (to_json), and
// rows(id, schema, json) with one JSON object per row; rows_by_schema(schema, id) serves
// unfiltered reads and counts.
//
// Indexes: unless opened with Options{.index_fields = false}, every field of a schema whose
// declared type is not `json` and that the schema does not opt out ("index": false,
// FieldDefinition::indexed) has a partial expression index
//   rows_<hex schema>_<hex field> ON rows (json_extract(json, '$."<field>"'), id)
//   WHERE schema = '<schema>'
// made by add_schema (for existing rows too) and, for files written before indexes existed
// (format 1), at open. Replacing a schema drops the indexes of fields it no longer indexes
// (a field that became "index": false included). An index costs every insert a write of
// the field's value into a B-tree: cheap for a short key, but a long random string such as
// free text about doubles the insert cost (store_bench prints both), so opt out fields
// nobody filters on; filters on them still work, by scanning.
// A field whose name holds a double quote or a NUL gets no index and no SQL clause (its
// filters are checked row by row); a schema whose name holds a NUL gets no indexes.
//
// Filters (row_filter.hpp) become SQL on json_extract with literal paths and the schema
// name as a literal (so the partial indexes apply). One index drives a query: the first
// equality clause's on an indexed field, else the first range clause's; other clauses are
// tested on the rows it yields. An equality reads only the matching index entries, in id
// order; a range reads its index range, then sorts it by id. Without a usable index a
// filter scans the schema's rows. SQL only narrows: every row it admits is checked
// exactly by matches() before it is answered.
//
// Paging: query_page returns rows after a given row id, in id (insertion) order, up to a
// row count and a byte budget, and says whether more match: a caller continues from
// last_row_id. With an equality filter on an indexed field a page costs about its own
// rows, however large the table; with a range filter, about the rows of the whole range
// after last_row_id (they are sorted by id before the page is taken).
//
// Errors are values: ErrorKind::Config for bad input (unknown schema or field, a value of
// the wrong type, a malformed filter), ErrorKind::Message for storage failures (with
// SQLite's message). Nothing throws.
//
// Thread safety: calls on one SqliteStore are serialized by an internal mutex, so the
// node's threads may share one. The mutex is recursive: a call made inside
// read_snapshot's `reads` runs in its transaction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>

#include "store/mutation.hpp"
#include "store/row_filter.hpp"
#include "store/schema_definition.hpp"

namespace datafold::store {

// One page of a query's answer (SqliteStore::query_page).
struct RowPage {
  std::vector<net::Json> columns;  // one JSON array per requested field, aligned, as query() returns
  std::size_t rows = 0;            // rows in this page
  std::int64_t last_row_id = 0;    // id of the last row in the page (0 if none)
  bool more = false;               // at least one more matching row after last_row_id
};

struct SqliteStoreOptions {
  // Make the field indexes (see above). false leaves only rows_by_schema: every filter
  // scans, as stores did before indexes (the baseline store_bench compares against).
  bool index_fields = true;
  // SQLite's page cache, allocated only as pages are used. A process that answers
  // queries keeps it small: a long answer reads the whole table once and would
  // otherwise fill the cache, in memory the node's budget does not see. One that
  // inserts in bulk wants more: each row goes into every field index of its schema at
  // a place set by its values, and with a small cache a batch rereads index pages per
  // row (kBulkInsertCacheMib, what `datafold insert` uses).
  std::size_t page_cache_mib = 16;
  static constexpr std::size_t kBulkInsertCacheMib = 64;
};

// The key the operator gave a name (the trust store's names), or nullopt.
using ReaderNames = std::function<std::optional<net::PublicKey>(std::string_view name)>;

class SqliteStore {
 public:
  // How long a call waits for another process's write transaction before failing.
  static constexpr std::chrono::milliseconds kBusyTimeout{5000};
  // The table layout this code writes (PRAGMA user_version); a newer file is refused.
  // 2: field indexes (a format 1 file gets them at open).
  static constexpr int kFormatVersion = 2;
  // Prepared statements kept; their SQL names the schema and fields, so one per query shape.
  static constexpr std::size_t kMaxCachedStatements = 256;

  using Options = SqliteStoreOptions;

  // Opens (creating if absent) the database at `path` and its tables, and (with
  // index_fields) creates the field indexes any stored schema lacks. The parent directory
  // must exist. Fails with Message if the file cannot be opened or is not a datafold
  // database this version understands.
  static net::NetworkResult<SqliteStore> open(const std::filesystem::path& path);
  static net::NetworkResult<SqliteStore> open(const std::filesystem::path& path, Options options);

  SqliteStore(SqliteStore&&) noexcept;
  SqliteStore& operator=(SqliteStore&&) noexcept;
  ~SqliteStore();

  const std::filesystem::path& path() const noexcept;

  // What an allow-list entry that is a name (FieldPolicy::named_readers) grants: the
  // key `names` gives it, looked up each time a schema is read, so a name given later
  // applies at once. Until set, names grant nothing. Set before the store is shared.
  void set_reader_names(ReaderNames names);

  // Adds `schema`, or replaces the schema of the same name (its rows are kept; a row's
  // values for fields the new schema lacks are no longer served), and makes its field
  // indexes (which reads every existing row of the schema once). Config if `schema` is
  // not one schema_from_json would accept.
  net::NetworkResult<void> add_schema(const SchemaDefinition& schema);

  // Every schema, by name.
  net::NetworkResult<std::vector<SchemaDefinition>> list_schemas();

  // The schema called `name`, or nullopt if there is none.
  net::NetworkResult<std::optional<SchemaDefinition>> get_schema(std::string_view name);
  // The same, shared and read-only, or null if there is none: what a query reads, per
  // request. The store keeps each schema parsed until another connection (another
  // process) commits a change or this store adds a schema.
  net::NetworkResult<std::shared_ptr<const SchemaDefinition>> find_schema(std::string_view name);

  // Inserts `rows` (one JSON object {field: value}, or an array of them) into schema
  // `schema_name`; returns how many were written. All or nothing: Config naming the row
  // and field at fault (unknown schema, a key that is not a field, a value that does not
  // match the field's declared "type"; null fits every type; a Range or HashRange row
  // without its key) and nothing is written. A row may omit fields; they read as null.
  // A Range or HashRange schema keeps one row per key: a row whose key is stored already
  // is written over that row (fields it omits keep their values).
  net::NetworkResult<std::size_t> insert_rows(std::string_view schema_name, const net::Json& rows);

  // Applies fold_db mutation documents in order, in one transaction: all or nothing.
  //   create  inserts data as a row, as insert_rows does (counted as updated when it
  //           replaces the row with the same key);
  //   update  sets data's fields in each row rows_touched() selects;
  //   delete  deletes each row rows_touched() selects.
  // Config naming the document ("mutations[1].data.age: expected number, got string") for
  // an unknown schema or field, a value of the wrong type, or a filter parse_filter refuses.
  // Selecting no row is not an error: the counts say.
  net::NetworkResult<MutationCounts> apply_mutations(const std::vector<Mutation>& mutations);

  // How many rows schema `schema_name` holds (0 for an unknown schema).
  net::NetworkResult<std::uint64_t> count_rows(std::string_view schema_name);

  // Selects `fields` from the rows of `schema` that match `filter`, in any shape
  // parse_filter accepts: the equality map {field: value} (JSON equality: 1 and 1.0 are
  // equal, 1 and true are not; a missing field equals null), fold_db's operator form or its
  // range_filter. No filter, or a JSON null one, selects every row.
  //
  // Returns one JSON array per requested field, in request order, holding that field's
  // value in each matching row, in insertion order (null where a row lacks it); the
  // arrays are aligned, so index i of each is the same row. (fold_db answers one value
  // per field; a list over the matching rows is this store's shape.)
  // Config if a field or filter field is not in the schema, or parse_filter refuses the filter.
  net::NetworkResult<std::vector<net::Json>> query(const SchemaDefinition& schema,
                                                   const std::vector<std::string>& fields,
                                                   const std::optional<net::Json>& filter = std::nullopt);
  // As above, looking the schema up by name first (Config if there is none).
  net::NetworkResult<std::vector<net::Json>> query(std::string_view schema_name,
                                                   const std::vector<std::string>& fields,
                                                   const std::optional<net::Json>& filter = std::nullopt);

  // Rows of `schema` matching every clause of `filter` with id > after_row_id, in id
  // (insertion) order: at most max_rows rows, stopping once the stored JSON text of the
  // rows taken reaches max_bytes (always at least one row when one matches). `more` is
  // found by reading on to the next matching row. Config if a field or clause field is not
  // in the schema or max_rows is 0; Message if storage fails.
  net::NetworkResult<RowPage> query_page(const SchemaDefinition& schema, const std::vector<std::string>& fields,
                                         const std::vector<FilterClause>& filter, std::int64_t after_row_id,
                                         std::size_t max_rows, std::size_t max_bytes);

  // find_schema and query_page against one state of the file: `reads` runs with this
  // store's other calls held off and one read transaction open. The schema a query is
  // checked against is then the one its rows are read under, and SQLite takes its WAL
  // read lock once (two fcntl calls) rather than once per statement. The result is
  // `reads`' own; Message if the transaction cannot begin.
  // Nested, on the thread whose `reads` are running, it joins the open transaction: the
  // node holds one around a turn of a peer's requests (net::TurnScope), and each query's
  // own read_snapshot inside it reads that state. The store's other reads may be called
  // inside too; a write fails there (SQLite starts no write inside a read transaction).
  class Snapshot;
  net::NetworkResult<void> read_snapshot(const std::function<void(Snapshot&)>& reads);

  // SQLite's EXPLAIN QUERY PLAN of what query_page runs for `filter`, one line per step
  // (e.g. "SEARCH rows USING INDEX rows_…_… (<expr>=? AND id>?)"): shows whether a filter
  // reads an index or scans. For tests and diagnosing slow queries.
  net::NetworkResult<std::string> explain_query(const SchemaDefinition& schema, const std::vector<FilterClause>& filter);

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What read_snapshot's `reads` reads through: the store's find_schema and query_page.
class SqliteStore::Snapshot {
 public:
  net::NetworkResult<std::shared_ptr<const SchemaDefinition>> find_schema(std::string_view name);
  net::NetworkResult<RowPage> query_page(const SchemaDefinition& schema, const std::vector<std::string>& fields,
                                         const std::vector<FilterClause>& filter, std::int64_t after_row_id,
                                         std::size_t max_rows, std::size_t max_bytes);

 private:
  friend class SqliteStore;
  explicit Snapshot(Impl& impl) noexcept : impl_(impl) {}
  Impl& impl_;
};

}  // namespace datafold::store
