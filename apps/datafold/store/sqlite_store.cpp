#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <limits>
#include <mutex>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "store/json_members.hpp"

namespace datafold::store {

namespace {

using net::Json;
using net::NetworkError;
using net::NetworkResult;

constexpr std::string_view kCreateTables = R"sql(
  CREATE TABLE IF NOT EXISTS schemas (
    name TEXT PRIMARY KEY NOT NULL,
    definition TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS rows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schema TEXT NOT NULL,
    json TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS rows_by_schema ON rows (schema, id);
)sql";

constexpr std::size_t kMaxCachedStatements = SqliteStore::kMaxCachedStatements;

struct DbClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// Leaves a cached statement ready for its next use, however the current one ends.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* stmt) noexcept : stmt_(stmt) {}
  ~StatementUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  sqlite3_stmt* get() const noexcept { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

NetworkError bad_input(std::string message) { return net::make_error(net::ErrorKind::Config, std::move(message)); }

// nlohmann refuses to dump strings that are not UTF-8 (values built in code, not parsed).
std::optional<std::string> dump_json(const Json& value) {
  try {
    return value.dump();
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

std::string field_list(const SchemaDefinition& schema) {
  std::string out;
  for (const auto& f : schema.fields) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

std::string no_such_field(const SchemaDefinition& schema, const std::string& field) {
  return "schema " + schema.name + " has no field '" + field + "' (fields: " + field_list(schema) + ")";
}

// `text` as an SQL string literal, or nullopt if it holds a NUL (SQLite would end the
// statement there).
std::optional<std::string> sql_literal(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// Whether a SQLite JSON path finds top-level key `field` of a stored row: SQLite's paths
// cannot escape a double quote, and SQLite 3.40 compares a key's text as written,
// escapes included, so a name JSON writes with an escape (a backslash, a control
// character) is never found.
bool has_field_path(std::string_view field) {
  return std::none_of(field.begin(), field.end(),
                      [](unsigned char c) { return c == '"' || c == '\\' || c < 0x20; });
}

// That path, as an SQL literal (nullopt if there is none). Quoting keeps dots and
// brackets in a name literal.
std::optional<std::string> field_path(std::string_view field) {
  if (!has_field_path(field)) return std::nullopt;
  return sql_literal("$.\"" + std::string(field) + "\"");
}

// The text of JSON string `json` when it is written plainly: printable ASCII between its
// quotes, no escape. Parsing it would give the same string at many times the cost.
std::optional<std::string_view> plain_json_string(std::string_view json) {
  // One look-up per byte: four comparisons per byte were most of reading a short value.
  static constexpr auto kPlain = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c <= 0x7e; ++c) plain[c] = c != '"' && c != '\\';
    return plain;
  }();
  if (json.size() < 2 || json.front() != '"' || json.back() != '"') return std::nullopt;
  const auto inside = json.substr(1, json.size() - 2);
  for (const unsigned char c : inside)
    if (!kPlain[c]) return std::nullopt;
  return inside;
}

// json_extract of top-level key `field`, spelled exactly as the field indexes spell it
// (SQLite matches an expression index by its text). A name without a path gets
// nothing, and its filters are checked on the parsed rows alone.
std::optional<std::string> field_expression(std::string_view field) {
  auto path = field_path(field);
  if (!path) return std::nullopt;
  return "json_extract(json, " + *path + ")";
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
  }
  return out;
}

// Hex keeps any name a valid, unique identifier: hex has no '_', so the parts can't run
// into each other or into rows_by_schema.
std::string index_prefix(std::string_view schema) { return "rows_" + hex(schema) + "_"; }
std::string index_name(std::string_view schema, std::string_view field) {
  return index_prefix(schema) + hex(field);
}

// Whether `field` of `schema` gets an index: not if the schema opts the field out
// ("index": false), json fields hold objects (their text would be compared, never useful),
// and names SQL cannot spell get no SQL at all.
bool indexable(const SchemaDefinition& schema, const FieldDefinition& field) {
  return field.indexed && field.type != FieldType::Json && field_expression(field.name) && sql_literal(schema.name);
}

// A value SQLite can compare as JSON compares it (or more loosely): a string without NUL,
// a number in SQLite's range (json_extract reads integers beyond int64 as reals), or a
// boolean (json_extract reads true and false as 1 and 0).
bool sql_bindable(const Json& value) {
  if (value.is_boolean()) return true;
  if (value.is_string()) return value.get_ref<const std::string&>().find('\0') == std::string::npos;
  if (value.is_number_unsigned())
    return value.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return value.is_number();
}

void bind_value(sqlite3_stmt* stmt, int n, const Json& value) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    sqlite3_bind_text(stmt, n, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  } else if (value.is_boolean()) {
    sqlite3_bind_int64(stmt, n, value.get<bool>() ? 1 : 0);
  } else if (value.is_number_integer()) {
    sqlite3_bind_int64(stmt, n, value.get<std::int64_t>());
  } else {
    sqlite3_bind_double(stmt, n, value.get<double>());
  }
}

// The SQL that narrows a query to (a superset of) the rows its clauses match, and the
// values to bind from ?2 on (?1 is the row id to start after).
struct SqlFilter {
  std::string where;
  std::vector<Json> binds;
  std::optional<std::string> index;  // the field index to read, if one serves a clause
};

// SQLite orders NULL < numbers < text, and json_extract gives NULL for null or a missing
// key, 0/1 for false/true, the text of an object. So `expr = v` admits every row equal to
// v (and true for 1, dropped by matches()), and an ordering bound admits every row of its
// type on its side (and, for `> 5`, every text; the empty string, the least text, guards
// against that where it is worth it).
SqlFilter build_sql_filter(const SchemaDefinition& schema, const std::vector<FilterClause>& clauses,
                           const std::unordered_set<std::string>& existing_indexes) {
  SqlFilter out;
  std::optional<std::string> range_index;
  const auto schema_literal = sql_literal(schema.name);
  if (schema_literal) {
    out.where = "schema = " + *schema_literal;
  } else {
    out.where = "schema = ?2";
    out.binds.push_back(Json(schema.name));
  }
  out.where += " AND id > ?1";
  // A bound gets a type guard only on a field without a declared type (a typed field holds
  // only its type, or null) and without a bound of the same type on the other side: with
  // two bounds on one side SQLite may range the index over the guard instead.
  struct Sides {
    bool number_above = false, number_below = false, text_above = false, text_below = false;
  };
  std::unordered_map<std::string, Sides> sides;
  for (const auto& clause : clauses) {
    auto& side = sides[clause.field];
    const bool lower = clause.op == FilterClause::Op::Gt || clause.op == FilterClause::Op::Gte;
    const bool upper = clause.op == FilterClause::Op::Lt || clause.op == FilterClause::Op::Lte;
    (clause.value.is_string() ? (lower ? side.text_above : side.text_below)
                              : (lower ? side.number_above : side.number_below)) |= lower || upper;
  }
  for (const auto& clause : clauses) {
    const auto expr = field_expression(clause.field);
    if (!expr || !sql_bindable(clause.value)) continue;
    const auto param = [&](const Json& v) {
      out.binds.push_back(v);
      return "?" + std::to_string(out.binds.size() + 1);
    };
    const bool text = clause.value.is_string();
    const FieldDefinition* field = schema.find_field(clause.field);
    const bool untyped = field != nullptr && !field->type;
    const Sides& side = sides[clause.field];
    switch (clause.op) {
      // Decided by matches() alone: SQL cannot narrow them without an index to range.
      case FilterClause::Op::Ne:
      case FilterClause::Op::Contains:
      case FilterClause::Op::Pattern: continue;
      case FilterClause::Op::Eq: out.where += " AND " + *expr + " = " + param(clause.value); break;
      case FilterClause::Op::Gt:
      case FilterClause::Op::Gte:
        out.where += " AND " + *expr + (clause.op == FilterClause::Op::Gt ? " > " : " >= ") + param(clause.value);
        if (!text && untyped && !side.number_below) out.where += " AND " + *expr + " < ''";
        break;
      case FilterClause::Op::Lt:
      case FilterClause::Op::Lte:
        out.where += " AND " + *expr + (clause.op == FilterClause::Op::Lt ? " < " : " <= ") + param(clause.value);
        if (text && untyped && !side.text_above) out.where += " AND " + *expr + " >= ''";
        break;
    }
    if (field == nullptr || !schema_literal || !indexable(schema, *field)) continue;
    auto name = index_name(schema.name, clause.field);
    if (!existing_indexes.contains(name)) continue;
    if (clause.op == FilterClause::Op::Eq) {
      if (!out.index) out.index = std::move(name);
    } else if (!range_index) {
      range_index = std::move(name);
    }
  }
  // Named outright: without statistics SQLite takes `schema = 'S'` to match ten rows and
  // would read rows_by_schema (every row of the schema) rather than a range of a field
  // index. An equality reads its entries in id order; a range is sorted by id after.
  if (!out.index) out.index = std::move(range_index);
  return out;
}

}  // namespace

struct SqliteStore::Impl {
  std::filesystem::path file;
  Options options;
  ReaderNames reader_names;
  // Recursive: a call made inside read_snapshot's reads, on its thread, joins it.
  std::recursive_mutex mutex;
  int snapshots_open = 0;  // read_snapshot calls under way on the thread holding `mutex`
  // data_version() as the open read transaction sees it: another connection's commit
  // cannot show inside one, so it is read once per transaction, not once per query.
  std::optional<std::int64_t> snapshot_data_version;
  DbPtr db;  // declared before the statements so it outlives them
  std::unordered_map<std::string, StmtPtr> statements;
  // The indexes on rows, as of schema_version (any process's schema change bumps it).
  std::unordered_set<std::string> indexes;
  std::optional<std::int64_t> indexes_version;
  // Each existing schema as last read and parsed, for as long as no other
  // connection has committed (PRAGMA data_version, which any other process's write
  // moves) and this one has stored no schema: a query neither parses its schema nor
  // reads it from the table. Parsing was most of a query's cost. Named readers are not
  // resolved here: the trust store can rename them at any time.
  std::unordered_map<std::string, std::shared_ptr<const SchemaDefinition>> parsed_schemas;
  std::optional<std::int64_t> parsed_schemas_version;
  // The SQL of an unfiltered page, by schema name: it depends on nothing else, and
  // building it for each query took a tenth of the query's cost. Cleared at
  // kMaxCachedStatements entries, as the statements are.
  struct UnfilteredPage {
    std::string sql;
    bool binds_schema = false;  // a schema name SQL cannot spell is bound as ?2 (build_sql_filter)
  };
  std::unordered_map<std::string, UnfilteredPage> unfiltered_pages;

  NetworkError storage_error(std::string_view what) const {
    return net::make_error(net::ErrorKind::Message,
                           std::string(what) + " (" + file.string() + "): " + sqlite3_errmsg(db.get()));
  }

  NetworkResult<void> exec(std::string_view sql, std::string_view what) {
    char* message = nullptr;
    if (sqlite3_exec(db.get(), std::string(sql).c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = message != nullptr ? message : sqlite3_errmsg(db.get());
      sqlite3_free(message);
      return net::make_error(net::ErrorKind::Message,
                             std::string(what) + " (" + file.string() + "): " + why);
    }
    return {};
  }

  // A prepared statement for `sql`, compiled once and reused.
  NetworkResult<sqlite3_stmt*> prepare(const std::string& sql) {
    if (const auto it = statements.find(sql); it != statements.end()) return it->second.get();
    if (statements.size() >= kMaxCachedStatements) statements.clear();
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db.get(), sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &raw, nullptr) != SQLITE_OK)
      return storage_error("cannot prepare statement");
    statements.emplace(sql, StmtPtr(raw));
    return raw;
  }

  // Steps a statement that returns no rows (BEGIN, COMMIT), compiled once.
  NetworkResult<void> run_cached(const std::string& sql, std::string_view what) {
    auto stmt = prepare(sql);
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    if (sqlite3_step(use.get()) != SQLITE_DONE) return storage_error(what);
    return {};
  }

  // BEGIN IMMEDIATE takes the write lock up front, so a second writer waits in the busy
  // handler instead of failing when it upgrades from a read.
  class Transaction {
   public:
    explicit Transaction(Impl& impl) : impl_(impl) {}
    ~Transaction() {
      if (open_) (void)impl_.exec("ROLLBACK", "rollback");
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    NetworkResult<void> begin() {
      auto r = impl_.exec("BEGIN IMMEDIATE", "cannot start a write transaction");
      open_ = r.ok();
      return r;
    }
    NetworkResult<void> commit() {
      auto r = impl_.exec("COMMIT", "cannot commit");
      if (r.ok()) open_ = false;
      return r;
    }

   private:
    Impl& impl_;
    bool open_ = false;
  };

  NetworkResult<void> create_tables() {
    Transaction tx(*this);
    if (auto r = tx.begin(); !r) return r;
    auto version = prepare("PRAGMA user_version");
    if (!version) return std::move(version).error();
    int found = 0;
    {
      StatementUse use(*version);
      if (sqlite3_step(use.get()) != SQLITE_ROW) return storage_error("cannot read the database version");
      found = sqlite3_column_int(use.get(), 0);
    }
    if (found > kFormatVersion)
      return net::make_error(net::ErrorKind::Message,
                             "database " + file.string() + " has format " + std::to_string(found) +
                                 ", newer than this datafold understands (" + std::to_string(kFormatVersion) + ")");
    if (auto r = exec(kCreateTables, "cannot create tables"); !r) return r;
    // A format 1 file has no field indexes; a file another process opened without
    // index_fields may lack some too. IF NOT EXISTS makes this cheap when they are there.
    if (options.index_fields) {
      auto schemas = list_schemas();
      if (!schemas) return std::move(schemas).error();
      for (const auto& schema : *schemas)
        if (auto r = make_indexes(schema); !r) return r;
    }
    if (auto r = exec("PRAGMA user_version = " + std::to_string(kFormatVersion), "cannot set the database version"); !r)
      return r;
    return tx.commit();
  }

  // Creates the field indexes of `schema` it lacks and drops those of fields it no longer
  // indexes. Runs inside the caller's write transaction.
  NetworkResult<void> make_indexes(const SchemaDefinition& schema) {
    std::set<std::string> wanted;
    const auto schema_literal = sql_literal(schema.name);
    for (const auto& field : schema.fields) {
      if (!indexable(schema, field)) continue;
      auto name = index_name(schema.name, field.name);
      if (auto r = exec("CREATE INDEX IF NOT EXISTS \"" + name + "\" ON rows (" + *field_expression(field.name) +
                            ", id) WHERE schema = " + *schema_literal,
                        "cannot index field " + field.name + " of " + schema.name);
          !r)
        return r;
      wanted.insert(std::move(name));
    }
    const std::string prefix = index_prefix(schema.name);
    auto stmt = prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rows' AND substr(name, 1, ?2) = ?1");
    if (!stmt) return std::move(stmt).error();
    std::vector<std::string> stale;
    {
      StatementUse use(*stmt);
      sqlite3_bind_text(use.get(), 1, prefix.data(), static_cast<int>(prefix.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(use.get(), 2, static_cast<std::int64_t>(prefix.size()));
      for (;;) {
        const int rc = sqlite3_step(use.get());
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return storage_error("cannot list the indexes of " + schema.name);
        std::string name(reinterpret_cast<const char*>(sqlite3_column_text(use.get(), 0)),
                         static_cast<std::size_t>(sqlite3_column_bytes(use.get(), 0)));
        if (!wanted.contains(name)) stale.push_back(std::move(name));
      }
    }
    for (const auto& name : stale)
      if (auto r = exec("DROP INDEX IF EXISTS \"" + name + "\"", "cannot drop index " + name); !r) return r;
    return {};
  }

  // The names of the indexes on rows now, re-read only when some process changed the
  // database schema.
  NetworkResult<const std::unordered_set<std::string>*> current_indexes() {
    auto version = prepare("PRAGMA schema_version");
    if (!version) return std::move(version).error();
    std::int64_t now = 0;
    {
      StatementUse use(*version);
      if (sqlite3_step(use.get()) != SQLITE_ROW) return storage_error("cannot read the schema version");
      now = sqlite3_column_int64(use.get(), 0);
    }
    if (indexes_version == now) return &indexes;
    auto stmt = prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rows'");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    indexes.clear();
    indexes_version.reset();
    for (;;) {
      const int rc = sqlite3_step(use.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return storage_error("cannot list indexes");
      indexes.emplace(reinterpret_cast<const char*>(sqlite3_column_text(use.get(), 0)),
                      static_cast<std::size_t>(sqlite3_column_bytes(use.get(), 0)));
    }
    indexes_version = now;
    return &indexes;
  }

  NetworkResult<std::optional<SchemaDefinition>> get_schema(std::string_view name) {
    auto shared = find_schema(name);
    if (!shared) return std::move(shared).error();
    if (!*shared) return std::optional<SchemaDefinition>{};
    return std::optional<SchemaDefinition>{**shared};
  }

  // The schema called `name` with its named readers resolved now; null if there is none.
  NetworkResult<std::shared_ptr<const SchemaDefinition>> find_schema(std::string_view name) {
    auto version = data_version();
    if (!version) return std::move(version).error();
    if (parsed_schemas_version != *version) {
      parsed_schemas.clear();
      parsed_schemas_version = *version;
    }
    auto found = parsed_schemas.find(std::string(name));
    if (found == parsed_schemas.end()) {
      auto schema = read_schema(name);
      if (!schema) return std::move(schema).error();
      // Only schemas that exist are kept: the names asked for are a peer's to choose.
      if (!*schema) return schema;
      found = parsed_schemas.emplace(std::string(name), std::move(*schema)).first;
    }
    const auto& parsed = found->second;
    if (!has_named_readers(*parsed)) return parsed;
    auto resolved = std::make_shared<SchemaDefinition>(*parsed);
    resolve_reader_names(*resolved);
    return std::shared_ptr<const SchemaDefinition>(std::move(resolved));
  }

  // The schema called `name` as stored, parsed; null if there is none.
  NetworkResult<std::shared_ptr<const SchemaDefinition>> read_schema(std::string_view name) {
    auto stmt = prepare("SELECT definition FROM schemas WHERE name = ?1");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_text(use.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(use.get());
    if (rc == SQLITE_DONE) return std::shared_ptr<const SchemaDefinition>{};
    if (rc != SQLITE_ROW) return storage_error("cannot read schema " + std::string(name));
    auto schema = parse_stored(column_text(use.get()));
    if (!schema) return std::move(schema).error();
    return std::shared_ptr<const SchemaDefinition>(std::make_shared<const SchemaDefinition>(std::move(*schema)));
  }

  // Moves whenever another connection commits a change to the database.
  NetworkResult<std::int64_t> data_version() {
    if (snapshots_open > 0 && snapshot_data_version) return *snapshot_data_version;
    auto version = read_data_version();
    if (version && snapshots_open > 0) snapshot_data_version = *version;
    return version;
  }

  NetworkResult<std::int64_t> read_data_version() {
    auto stmt = prepare("PRAGMA data_version");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    if (sqlite3_step(use.get()) != SQLITE_ROW) return storage_error("cannot read the data version");
    return sqlite3_column_int64(use.get(), 0);
  }

  static std::string_view column_text(sqlite3_stmt* stmt) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    return {text != nullptr ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0))};
  }

  static bool has_named_readers(const SchemaDefinition& schema) {
    for (const auto& field : schema.fields)
      if (!field.policy.named_readers.empty()) return true;
    return false;
  }

  NetworkResult<SchemaDefinition> parse_stored(std::string_view text) const {
    auto schema = parse_schema(text);
    // Only someone editing the file by hand gets here: say which file.
    if (!schema)
      return net::make_error(net::ErrorKind::Message,
                             "stored schema in " + file.string() + " is unreadable: " + schema.error().message);
    return schema;
  }

  NetworkResult<SchemaDefinition> decode_schema(sqlite3_stmt* stmt) const {
    auto schema = parse_stored(column_text(stmt));
    if (schema) resolve_reader_names(*schema);
    return schema;
  }

  void resolve_reader_names(SchemaDefinition& schema) const {
    if (!reader_names) return;
    for (auto& field : schema.fields)
      for (const auto& [name, count] : field.policy.named_readers)
        if (const auto key = reader_names(name)) field.policy.resolved_readers.insert(*key);
  }

  NetworkResult<std::vector<SchemaDefinition>> list_schemas() {
    auto stmt = prepare("SELECT definition FROM schemas ORDER BY name");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    std::vector<SchemaDefinition> out;
    for (;;) {
      const int rc = sqlite3_step(use.get());
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return storage_error("cannot list schemas");
      auto schema = decode_schema(use.get());
      if (!schema) return std::move(schema).error();
      out.push_back(std::move(*schema));
    }
  }

  NetworkResult<void> add_schema(const SchemaDefinition& schema) {
    // Store only what parse_schema accepts, so every stored schema loads again: the
    // document as it was given, so nothing of it is lost.
    const Json definition = stored_document(schema);
    if (auto reparsed = schema_from_json(definition); !reparsed) return std::move(reparsed).error();
    const auto text = dump_json(definition);
    if (!text) return bad_input("schema " + schema.name + ": a name is not valid UTF-8");
    Transaction tx(*this);
    if (auto r = tx.begin(); !r) return r;
    parsed_schemas.clear();  // this connection's own writes do not move data_version
    auto stmt = prepare(
        "INSERT INTO schemas (name, definition) VALUES (?1, ?2) "
        "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition");
    if (!stmt) return std::move(stmt).error();
    {
      StatementUse use(*stmt);
      sqlite3_bind_text(use.get(), 1, schema.name.data(), static_cast<int>(schema.name.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(use.get(), 2, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
      if (sqlite3_step(use.get()) != SQLITE_DONE) return storage_error("cannot store schema " + schema.name);
    }
    if (options.index_fields)
      if (auto r = make_indexes(schema); !r) return r;
    return tx.commit();
  }

  // Why `row` cannot go into `schema`, as "PATH: reason", or nullopt if it can.
  static std::optional<std::string> check_row(const SchemaDefinition& schema, const Json& row,
                                              const std::string& path) {
    if (!row.is_object()) return path + ": expected a JSON object {field: value}";
    for (const auto& [name, value] : row.items()) {
      const FieldDefinition* field = schema.find_field(name);
      if (field == nullptr) return path + "." + name + ": unknown field of schema " + schema.name + " (fields: " + field_list(schema) + ")";
      if (field->type && !value_has_type(value, *field->type))
        return path + "." + name + ": expected " + std::string(to_string(*field->type)) + ", got " +
               value.type_name();
    }
    return std::nullopt;
  }

  NetworkResult<std::size_t> insert_rows(std::string_view schema_name, const Json& rows) {
    auto schema = get_schema(schema_name);
    if (!schema) return std::move(schema).error();
    if (!*schema) return bad_input("schema '" + std::string(schema_name) + "' not found");
    if (!rows.is_object() && !rows.is_array())
      return bad_input("rows: expected a JSON object or an array of objects");

    // Every row is checked before any is written, so the first bad one is named whatever
    // its place; the transaction makes the writes all or nothing.
    const bool single = rows.is_object();
    const std::size_t count = single ? 1 : rows.size();
    const auto path_of = [&](std::size_t i) { return single ? std::string("row") : "rows[" + std::to_string(i) + "]"; };
    std::vector<std::vector<FilterClause>> same_key(count);
    for (std::size_t i = 0; i < count; ++i) {
      const Json& row = single ? rows : rows[i];
      if (auto why = check_row(**schema, row, path_of(i))) return bad_input(std::move(*why));
      auto key = key_clauses(**schema, row, path_of(i));
      if (!key) return std::move(key).error();
      same_key[i] = std::move(*key);
    }

    Transaction tx(*this);
    if (auto r = tx.begin(); !r) return std::move(r).error();
    for (std::size_t i = 0; i < count; ++i) {
      auto written = write_row(**schema, single ? rows : rows[i], same_key[i], path_of(i));
      if (!written) return std::move(written).error();
    }
    if (auto r = tx.commit(); !r) return std::move(r).error();
    return count;
  }

  NetworkResult<MutationCounts> apply_mutations(const std::vector<Mutation>& mutations) {
    Transaction tx(*this);
    if (auto r = tx.begin(); !r) return std::move(r).error();
    MutationCounts counts;
    // Each schema is read once per call, however many documents name it.
    std::unordered_map<std::string, SchemaDefinition> schemas;
    for (const auto& m : mutations) {
      auto known = schemas.find(m.schema);
      if (known == schemas.end()) {
        auto schema = get_schema(m.schema);
        if (!schema) return std::move(schema).error();
        if (!*schema) return bad_input(m.path + ".schema: schema '" + m.schema + "' not found");
        known = schemas.emplace(m.schema, std::move(**schema)).first;
      }
      const SchemaDefinition& schema = known->second;
      if (auto why = check_row(schema, m.data, m.path + ".data")) return bad_input(std::move(*why));
      auto touched = rows_touched(schema, m);
      if (!touched) return std::move(touched).error();
      switch (m.kind) {
        case Mutation::Kind::Create: {
          auto created = write_row(schema, m.data, touched->value_or(std::vector<FilterClause>{}), m.path);
          if (!created) return std::move(created).error();
          ++(*created ? counts.created : counts.updated);
          break;
        }
        case Mutation::Kind::Update:
        case Mutation::Kind::Delete: {
          const bool update = m.kind == Mutation::Kind::Update;
          auto changed = change_rows(schema, **touched, update ? &m.data : nullptr, m.path);
          if (!changed) return std::move(changed).error();
          (update ? counts.updated : counts.deleted) += *changed;
          break;
        }
      }
    }
    if (auto r = tx.commit(); !r) return std::move(r).error();
    return counts;
  }

  // Stores a checked row of `schema`: over the rows `same_key` selects (a Range or
  // HashRange row with the same key; empty for a schema without a key), keeping their
  // other fields, or else as a new row. True when the row is new. Inside a transaction.
  NetworkResult<bool> write_row(const SchemaDefinition& schema, const Json& row,
                                const std::vector<FilterClause>& same_key, const std::string& path) {
    if (!same_key.empty()) {
      auto replaced = change_rows(schema, same_key, &row, path);
      if (!replaced) return std::move(replaced).error();
      if (*replaced > 0) return false;
    }
    auto text = dump_json(row);
    if (!text) return bad_input(path + ": a string is not valid UTF-8");
    auto stmt = prepare("INSERT INTO rows (schema, json) VALUES (?1, ?2)");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_text(use.get(), 1, schema.name.data(), static_cast<int>(schema.name.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(use.get(), 2, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
    if (sqlite3_step(use.get()) != SQLITE_DONE) return storage_error("cannot insert into " + schema.name);
    return true;
  }

  // Sets `changes` (field: value) in every row of `schema` matching `clauses`, or deletes
  // those rows when `changes` is null. Returns how many. A batch of rows at a time, so a
  // change to many rows holds only a batch in memory. Inside a transaction.
  NetworkResult<std::size_t> change_rows(const SchemaDefinition& schema, const std::vector<FilterClause>& clauses,
                                         const Json* changes, const std::string& path) {
    constexpr std::size_t kBatchRows = 1000;
    std::size_t changed = 0;
    std::int64_t after = 0;
    for (;;) {
      auto batch = matching_rows(schema, clauses, after, kBatchRows);
      if (!batch) return std::move(batch).error();
      for (auto& [id, row] : *batch) {
        after = id;
        if (changes != nullptr) {
          row.update(*changes);
          auto text = dump_json(row);
          if (!text) return bad_input(path + ": a string is not valid UTF-8");
          auto stmt = prepare("UPDATE rows SET json = ?2 WHERE id = ?1");
          if (!stmt) return std::move(stmt).error();
          StatementUse use(*stmt);
          sqlite3_bind_int64(use.get(), 1, id);
          sqlite3_bind_text(use.get(), 2, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
          if (sqlite3_step(use.get()) != SQLITE_DONE) return storage_error("cannot update a row of " + schema.name);
        } else {
          auto stmt = prepare("DELETE FROM rows WHERE id = ?1");
          if (!stmt) return std::move(stmt).error();
          StatementUse use(*stmt);
          sqlite3_bind_int64(use.get(), 1, id);
          if (sqlite3_step(use.get()) != SQLITE_DONE) return storage_error("cannot delete a row of " + schema.name);
        }
        ++changed;
      }
      if (batch->size() < kBatchRows) return changed;
    }
  }

  // Up to `max_rows` rows of `schema` with id > after_id matching `clauses`, as (id, row),
  // in id order.
  NetworkResult<std::vector<std::pair<std::int64_t, Json>>> matching_rows(const SchemaDefinition& schema,
                                                                          const std::vector<FilterClause>& clauses,
                                                                          std::int64_t after_id, std::size_t max_rows) {
    auto stmt = page_statement(schema, clauses, "");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_int64(use.get(), 1, after_id);
    std::vector<std::pair<std::int64_t, Json>> rows;
    while (rows.size() < max_rows) {
      const int rc = sqlite3_step(use.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return storage_error("cannot read " + schema.name);
      auto row = stored_row(schema, row_text(use.get()));
      if (!row) return std::move(row).error();
      if (matches(clauses, *row)) rows.emplace_back(sqlite3_column_int64(use.get(), 0), std::move(*row));
    }
    return rows;
  }

  // Column 1 of `stmt`'s current row: a stored row's JSON text, valid until the next step.
  static std::string_view row_text(sqlite3_stmt* stmt) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, 1));
    return std::string_view(text != nullptr ? text : "", size);
  }

  // `text`, a stored row of `schema`, parsed.
  NetworkResult<Json> stored_row(const SchemaDefinition& schema, std::string_view text) const {
    Json row = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    // Rows are written by this store only; a broken one was edited by hand. Skipping it
    // would silently change answers, so say so.
    if (!row.is_object()) return not_an_object(schema);
    return row;
  }

  NetworkResult<std::uint64_t> count_rows(std::string_view schema_name) {
    auto stmt = prepare("SELECT count(*) FROM rows WHERE schema = ?1");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_text(use.get(), 1, schema_name.data(), static_cast<int>(schema_name.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(use.get()) != SQLITE_ROW) return storage_error("cannot count rows of " + std::string(schema_name));
    return static_cast<std::uint64_t>(sqlite3_column_int64(use.get(), 0));
  }

  // The statement query_page steps (`prefix` "EXPLAIN QUERY PLAN " for explain_query),
  // with every value but ?1, the row id to start after, bound.
  NetworkResult<sqlite3_stmt*> page_statement(const SchemaDefinition& schema, const std::vector<FilterClause>& clauses,
                                              std::string_view prefix) {
    // Only a filter can use a field's index: without one, the indexes are not read.
    static const std::unordered_set<std::string> kNoIndexes;
    const std::unordered_set<std::string>* indexes = &kNoIndexes;
    if (!clauses.empty()) {
      auto current = current_indexes();
      if (!current) return std::move(current).error();
      indexes = *current;
    }
    const SqlFilter filter = build_sql_filter(schema, clauses, *indexes);
    std::string sql = std::string(prefix) + "SELECT id, json FROM rows";
    if (filter.index) sql += " INDEXED BY \"" + *filter.index + "\"";
    sql += " WHERE " + filter.where + " ORDER BY id";
    auto stmt = prepare(sql);
    if (!stmt) return stmt;
    for (std::size_t i = 0; i < filter.binds.size(); ++i) bind_value(*stmt, static_cast<int>(i + 2), filter.binds[i]);
    return stmt;
  }

  NetworkResult<std::string> explain_query(const SchemaDefinition& schema, const std::vector<FilterClause>& clauses) {
    auto stmt = page_statement(schema, clauses, "EXPLAIN QUERY PLAN ");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    std::string plan;
    for (;;) {
      const int rc = sqlite3_step(use.get());
      if (rc == SQLITE_DONE) return plan;
      if (rc != SQLITE_ROW) return storage_error("cannot explain a query of " + schema.name);
      const auto* detail = reinterpret_cast<const char*>(sqlite3_column_text(use.get(), 3));
      plan += (plan.empty() ? "" : "\n") + std::string(detail != nullptr ? detail : "");
    }
  }

  NetworkResult<RowPage> query_page(const SchemaDefinition& schema, const std::vector<std::string>& fields,
                                    const std::vector<FilterClause>& clauses, std::int64_t after_row_id,
                                    std::size_t max_rows, std::size_t max_bytes) {
    for (const auto& field : fields)
      if (schema.find_field(field) == nullptr) return bad_input(no_such_field(schema, field));
    for (const auto& clause : clauses)
      if (schema.find_field(clause.field) == nullptr)
        return bad_input("filter." + clause.field + ": unknown field of schema " + schema.name + " (fields: " +
                         field_list(schema) + ")");
    if (max_rows == 0) return bad_input("max_rows: a page holds at least one row");
    // With nothing to match, only the fields asked for are read out of each row's text
    // (json_members): parsing whole rows was most of a query's cost. With a filter, rows
    // are parsed and matched.
    const bool extracted = clauses.empty() && extractable(fields);

    auto stmt = extracted ? unfiltered_page_statement(schema) : page_statement(schema, clauses, "");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_int64(use.get(), 1, after_row_id);

    RowPage page;
    // Room for a short answer's rows at once, rather than growing 1, 2, 4, … per column.
    // (Each column is made in place: copies of one Json::array() cost an allocation each.)
    constexpr std::size_t kRowsReserved = 8;
    page.columns.reserve(fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      Json::array_t column;
      column.reserve(std::min(max_rows, kRowsReserved));
      page.columns.emplace_back(std::move(column));
    }
    std::size_t bytes = 0;
    bool full = false;
    std::optional<Json> row;
    // Room for a member per field, reused from row to row: inline for the few fields most
    // queries name, on the heap for more. (Each slot is set as it is made: room for all
    // kMaxExtractedFields inline cost a query 128 instructions.)
    constexpr std::size_t kInlineMembers = 8;
    std::array<std::string_view, kInlineMembers> inline_members;
    std::vector<std::string_view> heap_members;
    std::span<std::string_view> row_members;
    if (extracted && fields.size() <= kInlineMembers) {
      row_members = std::span(inline_members).first(fields.size());
    } else if (extracted) {
      heap_members.resize(fields.size());
      row_members = heap_members;
    }
    for (;;) {
      const int rc = sqlite3_step(use.get());
      if (rc == SQLITE_DONE) return page;
      if (rc != SQLITE_ROW) return storage_error("cannot query " + schema.name);
      const std::string_view text = row_text(use.get());
      if (!extracted) {
        auto parsed = stored_row(schema, text);
        if (!parsed) return std::move(parsed).error();
        if (!matches(clauses, *parsed)) continue;
        row = std::move(*parsed);
      }
      if (full) {
        page.more = true;
        return page;
      }
      if (!extracted) {
        add_fields(*row, fields, page);
      } else if (auto added = add_extracted(schema, text, fields, row_members, page); !added) {
        return std::move(added).error();
      }
      page.rows += 1;
      page.last_row_id = sqlite3_column_int64(use.get(), 0);
      bytes += text.size();
      full = page.rows >= max_rows || bytes >= max_bytes;
    }
  }

  // A query naming many fields (or one many times) is read by parsing rows instead:
  // each field is looked for in every member of every row.
  static constexpr std::size_t kMaxExtractedFields = 64;

  // Whether `fields` can be read out of rows' text (add_extracted): not if a field's name
  // has no path (has_field_path: one SQLite's indexes and filters could not name either,
  // so it is read from parsed rows, as a filter on it is), nor if there is no field (then
  // nothing would check that a row is JSON).
  static bool extractable(const std::vector<std::string>& fields) {
    if (fields.empty() || fields.size() > kMaxExtractedFields) return false;
    return std::all_of(fields.begin(), fields.end(), [](const std::string& field) { return has_field_path(field); });
  }

  // page_statement without a filter, whose SQL is built once per schema.
  NetworkResult<sqlite3_stmt*> unfiltered_page_statement(const SchemaDefinition& schema) {
    auto memo = unfiltered_pages.find(schema.name);
    if (memo == unfiltered_pages.end()) {
      if (unfiltered_pages.size() >= kMaxCachedStatements) unfiltered_pages.clear();
      const SqlFilter filter = build_sql_filter(schema, {}, {});
      UnfilteredPage page{"SELECT id, json FROM rows WHERE " + filter.where + " ORDER BY id", !filter.binds.empty()};
      memo = unfiltered_pages.emplace(schema.name, std::move(page)).first;
    }
    auto stmt = prepare(memo->second.sql);
    if (!stmt) return stmt;
    if (memo->second.binds_schema) bind_value(*stmt, 2, Json(schema.name));
    return stmt;
  }

  // Appends to `page`'s columns the `fields` of a row (`text`, its JSON), each read out
  // of the text (json_members) and parsed alone. `members` is room for a member per
  // field, reused from row to row.
  NetworkResult<void> add_extracted(const SchemaDefinition& schema, std::string_view text,
                                    const std::vector<std::string>& fields, std::span<std::string_view> members,
                                    RowPage& page) const {
    if (!json_members(text, fields, members)) return not_an_object(schema);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const std::string_view json = members[i];
      if (json.empty()) {
        page.columns[i].push_back(nullptr);  // a field the row lacks reads as null
        continue;
      }
      if (auto plain = plain_json_string(json)) {
        page.columns[i].emplace_back(*plain);
        continue;
      }
      // json_members checked the value's form but not its strings' UTF-8, which this does.
      Json value = Json::parse(json, nullptr, false);
      if (value.is_discarded()) return not_an_object(schema);
      page.columns[i].push_back(std::move(value));
    }
    return {};
  }

  // Appends `row`'s `fields` to `page`'s columns (null for one it lacks).
  static void add_fields(const Json& row, const std::vector<std::string>& fields, RowPage& page) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const auto it = row.find(fields[i]);
      page.columns[i].push_back(it == row.end() ? Json() : *it);
    }
  }

  NetworkError not_an_object(const SchemaDefinition& schema) const {
    return net::make_error(net::ErrorKind::Message,
                           "a stored row of " + schema.name + " in " + file.string() + " is not a JSON object");
  }

  NetworkResult<std::vector<Json>> query(const SchemaDefinition& schema, const std::vector<std::string>& fields,
                                         const std::optional<Json>& filter) {
    for (const auto& field : fields)
      if (schema.find_field(field) == nullptr) return bad_input(no_such_field(schema, field));
    auto clauses = parse_filter(schema, filter);
    if (!clauses) return std::move(clauses).error();
    auto page = query_page(schema, fields, *clauses, 0, std::numeric_limits<std::size_t>::max(),
                           std::numeric_limits<std::size_t>::max());
    if (!page) return std::move(page).error();
    return std::move(page->columns);
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::SqliteStore(SqliteStore&&) noexcept = default;
SqliteStore& SqliteStore::operator=(SqliteStore&&) noexcept = default;
SqliteStore::~SqliteStore() = default;

NetworkResult<SqliteStore> SqliteStore::open(const std::filesystem::path& path) { return open(path, Options{}); }

NetworkResult<SqliteStore> SqliteStore::open(const std::filesystem::path& path, Options options) {
  // SQLite's memory statistics take a process-wide mutex on every allocation it makes,
  // several per query, and nothing here reads them. Only possible before SQLite's first
  // use in the process; later it is refused, harmlessly.
  [[maybe_unused]] static const int no_memory_statistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  auto impl = std::make_unique<Impl>();
  impl->file = path;
  impl->options = options;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  impl->db.reset(raw);  // sqlite3 hands back a handle even on failure; it must be closed
  if (rc != SQLITE_OK) {
    return net::make_error(net::ErrorKind::Message,
                           "cannot open database " + path.string() + ": " +
                               (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(kBusyTimeout.count()));
  // WAL lets the node read while a CLI process writes; NORMAL sync is WAL's usual
  // pairing (a commit survives a process crash; a power cut may lose the last ones).
  if (auto r = impl->exec("PRAGMA journal_mode = WAL", "cannot open database"); !r) return std::move(r).error();
  if (auto r = impl->exec("PRAGMA synchronous = NORMAL", "cannot open database"); !r) return std::move(r).error();
  // A negative cache_size is in KiB (Options::page_cache_mib says why its size matters).
  const auto cache_kib = std::to_string(std::max<std::size_t>(options.page_cache_mib, 1) * 1024);
  if (auto r = impl->exec("PRAGMA cache_size = -" + cache_kib, "cannot open database"); !r) return std::move(r).error();
  if (auto r = impl->create_tables(); !r) return std::move(r).error();
  return SqliteStore(std::move(impl));
}

const std::filesystem::path& SqliteStore::path() const noexcept { return impl_->file; }

void SqliteStore::set_reader_names(ReaderNames names) {
  std::lock_guard lock(impl_->mutex);
  impl_->reader_names = std::move(names);
}

NetworkResult<void> SqliteStore::add_schema(const SchemaDefinition& schema) {
  std::lock_guard lock(impl_->mutex);
  return impl_->add_schema(schema);
}

NetworkResult<std::vector<SchemaDefinition>> SqliteStore::list_schemas() {
  std::lock_guard lock(impl_->mutex);
  return impl_->list_schemas();
}

NetworkResult<std::optional<SchemaDefinition>> SqliteStore::get_schema(std::string_view name) {
  std::lock_guard lock(impl_->mutex);
  return impl_->get_schema(name);
}

NetworkResult<std::shared_ptr<const SchemaDefinition>> SqliteStore::find_schema(std::string_view name) {
  std::lock_guard lock(impl_->mutex);
  return impl_->find_schema(name);
}

NetworkResult<std::size_t> SqliteStore::insert_rows(std::string_view schema_name, const Json& rows) {
  std::lock_guard lock(impl_->mutex);
  return impl_->insert_rows(schema_name, rows);
}

NetworkResult<MutationCounts> SqliteStore::apply_mutations(const std::vector<Mutation>& mutations) {
  std::lock_guard lock(impl_->mutex);
  return impl_->apply_mutations(mutations);
}

NetworkResult<std::uint64_t> SqliteStore::count_rows(std::string_view schema_name) {
  std::lock_guard lock(impl_->mutex);
  return impl_->count_rows(schema_name);
}

NetworkResult<std::vector<Json>> SqliteStore::query(const SchemaDefinition& schema,
                                                    const std::vector<std::string>& fields,
                                                    const std::optional<Json>& filter) {
  std::lock_guard lock(impl_->mutex);
  return impl_->query(schema, fields, filter);
}

NetworkResult<std::vector<Json>> SqliteStore::query(std::string_view schema_name,
                                                    const std::vector<std::string>& fields,
                                                    const std::optional<Json>& filter) {
  std::lock_guard lock(impl_->mutex);
  auto schema = impl_->get_schema(schema_name);
  if (!schema) return std::move(schema).error();
  if (!*schema) return bad_input("schema '" + std::string(schema_name) + "' not found");
  return impl_->query(**schema, fields, filter);
}

NetworkResult<std::string> SqliteStore::explain_query(const SchemaDefinition& schema,
                                                     const std::vector<FilterClause>& filter) {
  std::lock_guard lock(impl_->mutex);
  return impl_->explain_query(schema, filter);
}

NetworkResult<RowPage> SqliteStore::query_page(const SchemaDefinition& schema, const std::vector<std::string>& fields,
                                               const std::vector<FilterClause>& filter, std::int64_t after_row_id,
                                               std::size_t max_rows, std::size_t max_bytes) {
  std::lock_guard lock(impl_->mutex);
  return impl_->query_page(schema, fields, filter, after_row_id, max_rows, max_bytes);
}

NetworkResult<void> SqliteStore::read_snapshot(const std::function<void(Snapshot&)>& reads) {
  std::lock_guard lock(impl_->mutex);
  Snapshot snapshot(*impl_);
  // Inside another read_snapshot's reads (the node's turn scope): its transaction serves.
  if (impl_->snapshots_open > 0) {
    reads(snapshot);
    return {};
  }
  // Deferred: the read lock is taken by the first read, and held to COMMIT.
  if (auto begun = impl_->run_cached("BEGIN", "cannot start a read transaction"); !begun) return begun;
  // Ended however `reads` ends, a throw included: a transaction left open would make
  // every later BEGIN fail. Ending a read transaction cannot fail for want of
  // anything; if it does, ROLLBACK still releases the lock.
  struct End {
    Impl& impl;
    ~End() {
      --impl.snapshots_open;
      impl.snapshot_data_version.reset();
      if (!impl.run_cached("COMMIT", "cannot end a read transaction")) (void)impl.exec("ROLLBACK", "rollback");
    }
  };
  ++impl_->snapshots_open;
  End end{*impl_};
  reads(snapshot);
  return {};
}

NetworkResult<std::shared_ptr<const SchemaDefinition>> SqliteStore::Snapshot::find_schema(std::string_view name) {
  return impl_.find_schema(name);
}

NetworkResult<RowPage> SqliteStore::Snapshot::query_page(const SchemaDefinition& schema,
                                                         const std::vector<std::string>& fields,
                                                         const std::vector<FilterClause>& filter,
                                                         std::int64_t after_row_id, std::size_t max_rows,
                                                         std::size_t max_bytes) {
  return impl_.query_page(schema, fields, filter, after_row_id, max_rows, max_bytes);
}

}  // namespace datafold::store
