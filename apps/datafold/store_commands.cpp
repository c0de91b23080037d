#include "store_commands.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string_view>
#include <vector>

#include <datafold/net/json.hpp>
#include <datafold/net/trust_store.hpp>

#include "client_commands.hpp"
#include "data_dir.hpp"
#include "exit_code.hpp"
#include "store/mutation.hpp"
#include "store/schema_definition.hpp"
#include "store/sqlite_store.hpp"

namespace datafold::app {

namespace {

using net::Json;

// Input files are read whole; this keeps a mistaken path (a disk image, /dev/zero) from
// eating the machine's memory.
constexpr std::size_t kMaxInputBytes = 64u << 20;

// How errors name the input: the path as given, or <stdin> for "-".
std::string input_name(const std::string& file) { return file == "-" ? "<stdin>" : file; }

net::NetworkResult<std::string> read_input(const std::string& file) {
  std::string text;
  auto read_all = [&](std::istream& in) -> bool {
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      text.append(buffer, static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxInputBytes) return false;
    }
    return true;
  };
  if (file == "-") {
    if (!read_all(std::cin))
      return net::make_error(net::ErrorKind::Config, "<stdin>: more than 64 MiB of input");
    if (std::cin.bad()) return net::make_error(net::ErrorKind::Config, "<stdin>: cannot read");
    return text;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return net::make_error(net::ErrorKind::Config, file + ": cannot read: " + std::strerror(errno));
  if (!read_all(in)) return net::make_error(net::ErrorKind::Config, file + ": larger than 64 MiB");
  if (in.bad()) return net::make_error(net::ErrorKind::Config, file + ": cannot read");
  return text;
}

// Parses JSON; a syntax error names the input, line and column.
net::NetworkResult<Json> parse_input(const std::string& file, const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 3, column 5: …".
    std::string_view why = e.what();
    if (const auto end = why.find("] "); end != std::string_view::npos) why.remove_prefix(end + 2);
    return net::make_error(net::ErrorKind::Config, input_name(file) + ": invalid JSON: " + std::string(why));
  }
}

net::NetworkResult<store::SqliteStore> open_store(const GlobalOptions& global) {
  if (auto made = ensure_data_dir(global.data_dir); !made) return std::move(made).error();
  // Schema and insert commands may write many rows: a bulk writer's cache.
  store::SqliteStore::Options options;
  options.page_cache_mib = store::SqliteStore::Options::kBulkInsertCacheMib;
  return store::SqliteStore::open(database_path(global.data_dir), options);
}

std::string policy_text(const store::FieldPolicy& policy) {
  std::string text = policy.max_distance ? "distance<=" + std::to_string(*policy.max_distance) : "anyone";
  const auto listed = policy.explicit_readers.size() + policy.named_readers.size();
  if (listed > 0) text += "+" + std::to_string(listed) + (listed == 1 ? " key" : " keys");
  return text;
}

// What `schema add` warns about beyond the schema's own warnings: allow-list names the
// trust store gives no key, which grant nothing until it does.
std::vector<std::string> unresolved_names(const store::SchemaDefinition& schema, const net::TrustStore& trust) {
  std::map<std::string, std::vector<std::string>> fields_by_name;
  for (const auto& field : schema.fields)
    for (const auto& [name, count] : field.policy.named_readers)
      if (!trust.key_named(name)) fields_by_name[name].push_back(field.name);
  std::vector<std::string> out;
  for (const auto& [name, fields] : fields_by_name) {
    std::string where;
    for (const auto& field : fields) where += (where.empty() ? "fields." : ", fields.") + field;
    out.push_back("the allow-list name '" + name + "' (" + where +
                  ") is no key's name in the trust store, so it grants nothing: name a key with "
                  "`datafold trust set KEY DISTANCE --name " + name + "`");
  }
  return out;
}

}  // namespace

SchemaCommand::SchemaCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global), command_(app.add_subcommand("schema", "Add or list the schemas of this node's store")) {
  // At most one; none is reported by run() with the choices, which CLI11's message lacks.
  command_->require_subcommand(0, 1);
  add_ = command_->add_subcommand("add", "Add a schema (fold_db JSON) or replace the one of the same name");
  add_->add_option("file", file_, "Schema file, or - for stdin")->required();
  list_ = command_->add_subcommand("list", "List the store's schemas, their fields' read policies and row counts");
  show_ = command_->add_subcommand("show", "Print a schema's JSON as it was added");
  show_->add_option("name", name_, "Schema name")->required();
}

int SchemaCommand::run() const {
  if (add_->parsed()) return run_add();
  if (list_->parsed()) return run_list();
  if (show_->parsed()) return run_show();
  return fail(ExitCode::kUsage, "schema: give a sub-command: add, list or show (see datafold schema --help)");
}

int SchemaCommand::run_add() const {
  auto text = read_input(file_);
  if (!text) return fail("schema add", text.error());
  auto document = parse_input(file_, *text);
  if (!document) return fail("schema add", document.error());
  auto schema = store::schema_from_json(*document);
  if (!schema) return fail("schema add: " + input_name(file_), schema.error());
  auto trust = net::TrustStore::open(trust_store_path(global_.data_dir));
  if (!trust) return fail("schema add", trust.error());
  std::vector<std::string> warnings = schema->warnings;
  for (auto& line : unresolved_names(*schema, *trust)) warnings.push_back(std::move(line));

  auto opened = open_store(global_);
  if (!opened) return fail("schema add", opened.error());
  auto existing = opened->get_schema(schema->name);
  if (!existing) return fail("schema add", existing.error());
  if (auto added = opened->add_schema(*schema); !added) return fail("schema add", added.error());

  const bool replaced = existing->has_value();
  if (global_.json) {
    std::cout << json_text(Json{{"schema", schema->name},
                                {"version", schema->version},
                                {"kind", std::string(to_string(schema->kind))},
                                {"fields", schema->fields.size()},
                                {"replaced", replaced},
                                {"warnings", warnings}})
              << '\n';
  } else {
    std::cout << (replaced ? "replaced" : "added") << " schema " << schema->name << " (version " << schema->version
              << ", " << schema->fields.size() << " fields)\n";
  }
  // Added all the same: the schema is kept whole, and these say what of it this node
  // does not do, so its operator is not surprised later.
  for (const auto& line : warnings) std::cerr << "warning: " << input_name(file_) << ": " << line << '\n';
  return static_cast<int>(ExitCode::kOk);
}

int SchemaCommand::run_show() const {
  auto opened = open_store(global_);
  if (!opened) return fail("schema show", opened.error());
  auto schema = opened->get_schema(name_);
  if (!schema) return fail("schema show", schema.error());
  if (!*schema)
    return fail(ExitCode::kUsage, "schema show: no schema named '" + name_ + "' (see datafold schema list)");
  // As it was added, whatever its format.
  std::cout << store::stored_document(**schema).dump(2) << '\n';
  return static_cast<int>(ExitCode::kOk);
}

int SchemaCommand::run_list() const {
  auto opened = open_store(global_);
  if (!opened) return fail("schema list", opened.error());
  auto schemas = opened->list_schemas();
  if (!schemas) return fail("schema list", schemas.error());

  Json out = Json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& schema : *schemas) {
    auto count = opened->count_rows(schema.name);
    if (!count) return fail("schema list", count.error());
    Json entry{{"name", schema.name},
               {"version", schema.version},
               {"kind", std::string(to_string(schema.kind))},
               {"rows", *count},
               {"definition", store::stored_document(schema)}};
    if (schema.description) entry["description"] = *schema.description;
    out.push_back(std::move(entry));
    std::string fields;
    for (const auto& field : schema.fields)
      fields += (fields.empty() ? "" : " ") + field.name + "(" + policy_text(field.policy) + ")";
    rows.push_back({schema.name, schema.version, std::to_string(*count), fields});
  }
  if (global_.json) std::cout << json_text(out) << '\n';
  else if (rows.empty()) std::cout << "no schemas yet: add one with `datafold schema add FILE`\n";
  else print_table(std::cout, {"SCHEMA", "VERSION", "ROWS", "FIELDS (who may read)"}, rows);
  return static_cast<int>(ExitCode::kOk);
}

InsertCommand::InsertCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global),
      command_(app.add_subcommand("insert", "Write rows, or apply fold_db mutation documents (create, update, delete)")) {
  command_
      ->add_option("args", args_,
                   "SCHEMA FILE: rows for SCHEMA (a JSON object or an array of them); FILE alone: fold_db "
                   "mutation documents, each naming its schema. FILE - reads stdin")
      ->required()
      ->expected(1, 2);
}

int InsertCommand::run() const {
  const std::string& file = args_.back();
  const std::optional<std::string> schema = args_.size() == 2 ? std::optional(args_.front()) : std::nullopt;
  auto text = read_input(file);
  if (!text) return fail("insert", text.error());
  auto document = parse_input(file, *text);
  if (!document) return fail("insert", document.error());
  if (!document->is_object() && !document->is_array())
    return fail(ExitCode::kUsage, "insert: " + input_name(file) + ": expected a JSON object or an array of them, not " +
                                      document->type_name());
  const Json& first = document->is_array() && !document->empty() ? (*document)[0] : *document;
  if (store::is_mutation_document(first)) return apply(file, *text, schema);
  if (!schema)
    return fail(ExitCode::kUsage, "insert: " + input_name(file) +
                                      ": rows need a schema: `datafold insert SCHEMA " + file +
                                      "` (fold_db mutation documents name theirs: {\"type\": \"mutation\", "
                                      "\"schema\": …, \"mutation_type\": \"create\", \"data\": {…}})");

  auto opened = open_store(global_);
  if (!opened) return fail("insert", opened.error());
  auto inserted = opened->insert_rows(*schema, *document);
  if (!inserted) return fail("insert: " + input_name(file), inserted.error());
  if (global_.json) std::cout << json_text(Json{{"schema", *schema}, {"inserted", *inserted}}) << '\n';
  else std::cout << "inserted " << *inserted << (*inserted == 1 ? " row" : " rows") << " into " << *schema << '\n';
  return static_cast<int>(ExitCode::kOk);
}

int InsertCommand::apply(const std::string& file, const std::string& text,
                         const std::optional<std::string>& schema) const {
  auto mutations = store::parse_mutations(text);
  if (!mutations) return fail("insert: " + input_name(file), mutations.error());
  if (schema) {
    for (const auto& m : *mutations)
      if (m.schema != *schema)
        return fail(ExitCode::kUsage, "insert: " + input_name(file) + ": " + m.path + " is for schema " + m.schema +
                                          ", not " + *schema + " (leave SCHEMA out: each document names its own)");
  }
  auto opened = open_store(global_);
  if (!opened) return fail("insert", opened.error());
  auto counts = opened->apply_mutations(*mutations);
  if (!counts) return fail("insert: " + input_name(file), counts.error());
  if (global_.json) {
    std::cout << json_text(store::to_json(*counts)) << '\n';
  } else {
    const auto rows = [](std::size_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); };
    std::cout << "applied " << mutations->size() << (mutations->size() == 1 ? " mutation" : " mutations") << ": "
              << rows(counts->created) << " created, " << rows(counts->updated) << " updated, "
              << rows(counts->deleted) << " deleted\n";
  }
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace datafold::app
