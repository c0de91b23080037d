#include "store/mutation.hpp"

namespace datafold::store {

namespace {

using net::Json;
// Parsed with key order kept: data's first key is part of what an update means.
using OrderedJson = nlohmann::ordered_json;

net::NetworkError mutation_error(std::string message) { return net::make_error(net::ErrorKind::Config, std::move(message)); }

net::NetworkResult<Mutation> mutation_from(const OrderedJson& document, std::string path) {
  if (!document.is_object()) return mutation_error(path + ": expected a mutation document (a JSON object)");
  Mutation m;
  m.path = path;
  for (const auto& [key, value] : document.items()) {
    if (key == "type") {
      if (value != "mutation") return mutation_error(path + ".type: expected \"mutation\", not " + value.dump());
    } else if (key == "schema") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty())
        return mutation_error(path + ".schema: expected the schema's name");
      m.schema = value.get<std::string>();
    } else if (key == "mutation_type" || key == "operation") {  // "operation": fold_db's earlier name
      const std::string kind = value.is_string() ? value.get<std::string>() : value.dump();
      if (kind == "create") m.kind = Mutation::Kind::Create;
      else if (kind == "update") m.kind = Mutation::Kind::Update;
      else if (kind == "delete") m.kind = Mutation::Kind::Delete;
      else return mutation_error(path + "." + key + ": expected create, update or delete, not \"" + kind + "\"");
    } else if (key == "data") {
      if (!value.is_object()) return mutation_error(path + ".data: expected a JSON object {field: value}");
      if (!value.empty()) m.first_data_field = value.begin().key();
      m.data = Json(value);
    } else if (key == "filter") {
      if (!value.is_null()) m.filter = Json(value);
    } else {
      return mutation_error(path + "." + key + ": not a key of a mutation document (type, schema, mutation_type, data, filter)");
    }
  }
  if (m.schema.empty()) return mutation_error(path + ".schema: missing");
  if (!document.contains("mutation_type") && !document.contains("operation"))
    return mutation_error(path + ".mutation_type: missing (create, update or delete)");
  if (document.contains("mutation_type") && document.contains("operation"))
    return mutation_error(path + ".operation: fold_db's earlier name for mutation_type; give one of the two");
  if (!document.contains("data")) return mutation_error(path + ".data: missing");
  if (m.filter && m.kind == Mutation::Kind::Create)
    return mutation_error(path + ".filter: a create writes a new row; only update and delete take a filter");
  return m;
}

}  // namespace

std::string_view to_string(Mutation::Kind kind) noexcept {
  switch (kind) {
    case Mutation::Kind::Create: return "create";
    case Mutation::Kind::Update: return "update";
    case Mutation::Kind::Delete: return "delete";
  }
  return "?";
}

net::Json to_json(const MutationCounts& counts) {
  return Json{{"created", counts.created}, {"updated", counts.updated}, {"deleted", counts.deleted}};
}

bool is_mutation_document(const net::Json& document) {
  if (!document.is_object()) return false;
  if (document.contains("mutation_type")) return true;
  const auto type = document.find("type");
  return type != document.end() && *type == "mutation" && document.contains("schema");
}

net::NetworkResult<std::vector<Mutation>> parse_mutations(std::string_view json_text) {
  OrderedJson document;
  try {
    document = OrderedJson::parse(json_text);
  } catch (const OrderedJson::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 3, column 5: …".
    std::string_view why = e.what();
    if (const auto end = why.find("] "); end != std::string_view::npos) why.remove_prefix(end + 2);
    return mutation_error("invalid JSON: " + std::string(why));
  }
  std::vector<Mutation> out;
  if (document.is_array()) {
    if (document.empty()) return mutation_error("mutations: an empty array");
    for (std::size_t i = 0; i < document.size(); ++i) {
      auto m = mutation_from(document[i], "mutations[" + std::to_string(i) + "]");
      if (!m) return std::move(m).error();
      out.push_back(std::move(*m));
    }
    return out;
  }
  auto m = mutation_from(document, "mutation");
  if (!m) return std::move(m).error();
  out.push_back(std::move(*m));
  return out;
}

net::NetworkResult<std::vector<FilterClause>> key_clauses(const SchemaDefinition& schema, const net::Json& row,
                                                          const std::string& path) {
  std::vector<FilterClause> clauses;
  for (const auto& [field, what] : {std::pair{schema.key.hash_field, "hash key"}, std::pair{schema.key.range_field, "range key"}}) {
    if (!field) continue;
    const auto it = row.find(*field);
    if (it == row.end() || it->is_null())
      return mutation_error(path + "." + *field + ": missing; it is the " + what + " of schema " + schema.name +
                    ", which names the row");
    clauses.push_back(FilterClause{*field, FilterClause::Op::Eq, *it});
  }
  return clauses;
}

net::NetworkResult<std::optional<std::vector<FilterClause>>> rows_touched(const SchemaDefinition& schema,
                                                                          const Mutation& m) {
  using Clauses = std::optional<std::vector<FilterClause>>;
  if (m.filter) {
    auto clauses = parse_filter(schema, m.filter);
    if (!clauses) return mutation_error(m.path + "." + clauses.error().message);
    return Clauses(std::move(*clauses));
  }
  if (schema.key.hash_field || schema.key.range_field) {
    auto clauses = key_clauses(schema, m.data, m.path + ".data");
    if (!clauses) return std::move(clauses).error();
    return Clauses(std::move(*clauses));
  }
  if (m.kind == Mutation::Kind::Create) return Clauses();
  if (m.first_data_field.empty())
    return mutation_error(m.path + ".data: empty, so it names no row; give a filter, e.g. {\"filter\": {\"" +
                  (schema.fields.empty() ? std::string("field") : schema.fields.front().name) + "\": …}}");
  if (schema.find_field(m.first_data_field) == nullptr)
    return mutation_error(m.path + ".data." + m.first_data_field + ": unknown field of schema " + schema.name);
  return Clauses(std::vector<FilterClause>{{m.first_data_field, FilterClause::Op::Eq, m.data.at(m.first_data_field)}});
}

}  // namespace datafold::store
