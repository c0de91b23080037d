#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <limits>
#include <mutex>
#include <unordered_map>
#include <utility>

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

// Distinct query shapes are few (one per number of filter clauses); the cap only guards
// against a client sending filters with ever more fields.
constexpr std::size_t kMaxCachedStatements = 64;

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

// A JSON path selecting top-level key `field`. Quoting keeps dots and brackets in a name
// literal; SQLite's paths cannot escape a double quote, so such a name gets no SQL filter.
std::optional<std::string> json_path(const std::string& field) {
  if (field.find('"') != std::string::npos) return std::nullopt;
  return "$.\"" + field + "\"";
}

// Whether json_extract(json, path) = value in SQL admits every row whose field equals
// `value` as JSON (it may admit more, such as true for 1; the exact check in C++ drops
// those). Only strings and numbers qualify: json_extract turns true/false into 1/0 and
// objects into text.
bool sql_filterable(const Json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().find('\0') == std::string::npos;
  if (value.is_number_unsigned())
    return value.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return value.is_number();
}

}  // namespace

struct SqliteStore::Impl {
  std::filesystem::path file;
  std::mutex mutex;
  DbPtr db;  // declared before the statements so it outlives them
  std::unordered_map<std::string, StmtPtr> statements;

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
    if (auto r = exec("PRAGMA user_version = " + std::to_string(kFormatVersion), "cannot set the database version"); !r)
      return r;
    return tx.commit();
  }

  NetworkResult<std::optional<SchemaDefinition>> get_schema(std::string_view name) {
    auto stmt = prepare("SELECT definition FROM schemas WHERE name = ?1");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_text(use.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(use.get());
    if (rc == SQLITE_DONE) return std::optional<SchemaDefinition>{};
    if (rc != SQLITE_ROW) return storage_error("cannot read schema " + std::string(name));
    auto schema = decode_schema(use.get());
    if (!schema) return std::move(schema).error();
    return std::optional<SchemaDefinition>{std::move(*schema)};
  }

  NetworkResult<SchemaDefinition> decode_schema(sqlite3_stmt* stmt) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0));
    auto schema = parse_schema(std::string_view(text != nullptr ? text : "", size));
    // Only someone editing the file by hand gets here: say which file.
    if (!schema)
      return net::make_error(net::ErrorKind::Message,
                             "stored schema in " + file.string() + " is unreadable: " + schema.error().message);
    return schema;
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
    // Store only what parse_schema accepts, so every stored schema loads again.
    const Json definition = to_json(schema);
    if (auto reparsed = schema_from_json(definition); !reparsed) return std::move(reparsed).error();
    const auto text = dump_json(definition);
    if (!text) return bad_input("schema " + schema.name + ": a name is not valid UTF-8");
    auto stmt = prepare(
        "INSERT INTO schemas (name, definition) VALUES (?1, ?2) "
        "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_text(use.get(), 1, schema.name.data(), static_cast<int>(schema.name.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(use.get(), 2, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
    if (sqlite3_step(use.get()) != SQLITE_DONE) return storage_error("cannot store schema " + schema.name);
    return {};
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

    // Check and encode every row before writing any, so a bad row leaves nothing behind.
    std::vector<std::string> encoded;
    const bool single = rows.is_object();
    for (std::size_t i = 0; i < (single ? 1 : rows.size()); ++i) {
      const Json& row = single ? rows : rows[i];
      const std::string path = single ? "row" : "rows[" + std::to_string(i) + "]";
      if (auto why = check_row(**schema, row, path)) return bad_input(std::move(*why));
      auto text = dump_json(row);
      if (!text) return bad_input(path + ": a string is not valid UTF-8");
      encoded.push_back(std::move(*text));
    }

    Transaction tx(*this);
    if (auto r = tx.begin(); !r) return std::move(r).error();
    auto stmt = prepare("INSERT INTO rows (schema, json) VALUES (?1, ?2)");
    if (!stmt) return std::move(stmt).error();
    for (const auto& text : encoded) {
      StatementUse use(*stmt);
      sqlite3_bind_text(use.get(), 1, schema_name.data(), static_cast<int>(schema_name.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(use.get(), 2, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(use.get()) != SQLITE_DONE)
        return storage_error("cannot insert into " + std::string(schema_name));
    }
    if (auto r = tx.commit(); !r) return std::move(r).error();
    return encoded.size();
  }

  NetworkResult<std::uint64_t> count_rows(std::string_view schema_name) {
    auto stmt = prepare("SELECT count(*) FROM rows WHERE schema = ?1");
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_text(use.get(), 1, schema_name.data(), static_cast<int>(schema_name.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(use.get()) != SQLITE_ROW) return storage_error("cannot count rows of " + std::string(schema_name));
    return static_cast<std::uint64_t>(sqlite3_column_int64(use.get(), 0));
  }

  NetworkResult<std::vector<Json>> query(const SchemaDefinition& schema, const std::vector<std::string>& fields,
                                         const std::optional<Json>& filter_arg) {
    for (const auto& field : fields)
      if (schema.find_field(field) == nullptr) return bad_input(no_such_field(schema, field));

    const Json* filter = filter_arg && !filter_arg->is_null() ? &*filter_arg : nullptr;
    if (filter != nullptr) {
      if (!filter->is_object()) return bad_input("filter: expected a JSON object {field: value}");
      for (const auto& [name, value] : filter->items())
        if (schema.find_field(name) == nullptr) return bad_input("filter." + name + ": unknown field of schema " + schema.name + " (fields: " + field_list(schema) + ")");
    }

    // SQL narrows the rows where it can; the exact JSON comparison below decides.
    struct Clause {
      std::string path;
      const Json* value;
    };
    std::vector<Clause> clauses;
    std::string sql = "SELECT json FROM rows WHERE schema = ?1";
    if (filter != nullptr) {
      for (const auto& [name, value] : filter->items()) {
        auto key_path = json_path(name);
        if (!key_path || !sql_filterable(value)) continue;
        const auto n = 2 + 2 * clauses.size();
        sql += " AND json_extract(json, ?" + std::to_string(n) + ") = ?" + std::to_string(n + 1);
        clauses.push_back({std::move(*key_path), &value});
      }
    }
    sql += " ORDER BY id";

    auto stmt = prepare(sql);
    if (!stmt) return std::move(stmt).error();
    StatementUse use(*stmt);
    sqlite3_bind_text(use.get(), 1, schema.name.data(), static_cast<int>(schema.name.size()), SQLITE_TRANSIENT);
    for (std::size_t i = 0; i < clauses.size(); ++i) {
      const int n = static_cast<int>(2 + 2 * i);
      const auto& [key_path, value] = clauses[i];
      sqlite3_bind_text(use.get(), n, key_path.data(), static_cast<int>(key_path.size()), SQLITE_TRANSIENT);
      if (value->is_string()) {
        const auto& s = value->get_ref<const std::string&>();
        sqlite3_bind_text(use.get(), n + 1, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      } else if (value->is_number_integer()) {
        sqlite3_bind_int64(use.get(), n + 1, value->get<std::int64_t>());
      } else {
        sqlite3_bind_double(use.get(), n + 1, value->get<double>());
      }
    }

    static const Json kNull;
    std::vector<Json> columns(fields.size(), Json::array());
    for (;;) {
      const int rc = sqlite3_step(use.get());
      if (rc == SQLITE_DONE) return columns;
      if (rc != SQLITE_ROW) return storage_error("cannot query " + schema.name);
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(use.get(), 0));
      const auto size = static_cast<std::size_t>(sqlite3_column_bytes(use.get(), 0));
      Json row = Json::parse(std::string_view(text != nullptr ? text : "", size), nullptr, /*allow_exceptions=*/false);
      // Rows are written by insert_rows only; a broken one was edited by hand. Skipping it
      // would silently change answers, so say so.
      if (!row.is_object())
        return net::make_error(net::ErrorKind::Message,
                               "a stored row of " + schema.name + " in " + file.string() + " is not a JSON object");
      const auto value_of = [&](const std::string& name) -> const Json& {
        const auto it = row.find(name);
        return it == row.end() ? kNull : *it;
      };
      bool match = true;
      if (filter != nullptr)
        for (const auto& [name, value] : filter->items())
          if (value_of(name) != value) {
            match = false;
            break;
          }
      if (!match) continue;
      for (std::size_t i = 0; i < fields.size(); ++i) columns[i].push_back(value_of(fields[i]));
    }
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::SqliteStore(SqliteStore&&) noexcept = default;
SqliteStore& SqliteStore::operator=(SqliteStore&&) noexcept = default;
SqliteStore::~SqliteStore() = default;

NetworkResult<SqliteStore> SqliteStore::open(const std::filesystem::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->file = path;
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
  if (auto r = impl->create_tables(); !r) return std::move(r).error();
  return SqliteStore(std::move(impl));
}

const std::filesystem::path& SqliteStore::path() const noexcept { return impl_->file; }

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

NetworkResult<std::size_t> SqliteStore::insert_rows(std::string_view schema_name, const Json& rows) {
  std::lock_guard lock(impl_->mutex);
  return impl_->insert_rows(schema_name, rows);
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

}  // namespace datafold::store
