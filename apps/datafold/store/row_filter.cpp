#include "store/row_filter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

namespace datafold::store {

namespace {

using net::Json;
using net::NetworkResult;
using Op = FilterClause::Op;

net::NetworkError filter_error(const std::string& path, const std::string& why) {
  return net::make_error(net::ErrorKind::Config, path + ": " + why);
}

// The operator form's operators (Pattern is KeyPattern's, not one of them).
constexpr std::pair<Op, std::string_view> kOpNames[] = {{Op::Eq, "eq"},   {Op::Ne, "ne"},   {Op::Gt, "gt"},
                                                        {Op::Gte, "gte"}, {Op::Lt, "lt"},   {Op::Lte, "lte"},
                                                        {Op::Contains, "contains"}};

bool ordering(Op op) { return op == Op::Gt || op == Op::Gte || op == Op::Lt || op == Op::Lte; }

bool string_or_number(const Json& v) { return v.is_string() || v.is_number(); }

// The smallest byte string greater than every string that starts with `prefix`, or
// nullopt if there is none (the prefix is empty or all 0xFF bytes: then every string at
// or above it starts with it).
std::optional<std::string> prefix_successor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// One fold_db range operation ({"Key": v}, {"KeyRange": {...}}, {"KeyPrefix": "p"},
// {"KeyPattern": "p*"}) on `field`.
NetworkResult<void> parse_range_op(const std::string& field, const Json& op, const std::string& path,
                                   std::vector<FilterClause>& out) {
  if (!op.is_object() || op.size() != 1)
    return filter_error(path,
               R"(expected one of {"Key": v}, {"KeyRange": {"start": a, "end": b}}, {"KeyPrefix": "p"}, {"KeyPattern": "p*"})");
  const std::string& kind = op.begin().key();
  const Json& arg = op.begin().value();
  const std::string at = path + "." + kind;
  if (kind == "Key") {
    if (!string_or_number(arg)) return filter_error(at, std::string("a key must be a string or number, got ") + arg.type_name());
    out.push_back({field, Op::Eq, arg});
    return {};
  }
  if (kind == "KeyRange") {
    if (!arg.is_object() || !arg.contains("start") || !arg.contains("end") || arg.size() != 2)
      return filter_error(at, R"(expected {"start": a, "end": b})");
    for (const char* bound : {"start", "end"})
      if (!string_or_number(arg[bound]))
        return filter_error(at + "." + bound,
                   std::string("a range bound must be a string or number, got ") + arg[bound].type_name());
    out.push_back({field, Op::Gte, arg["start"]});
    out.push_back({field, Op::Lt, arg["end"]});
    return {};
  }
  if (kind == "KeyPrefix") {
    if (!arg.is_string()) return filter_error(at, std::string("a prefix must be a string, got ") + arg.type_name());
    const auto& prefix = arg.get_ref<const std::string&>();
    out.push_back({field, Op::Gte, arg});
    if (auto next = prefix_successor(prefix)) out.push_back({field, Op::Lt, Json(std::move(*next))});
    return {};
  }
  if (kind == "KeyPattern") {
    if (!arg.is_string()) return filter_error(at, std::string("a pattern must be a string, got ") + arg.type_name());
    const auto& pattern = arg.get_ref<const std::string&>();
    // The part before the first wildcard bounds the range, as a KeyPrefix would: an
    // index then reads only the keys that can match.
    const std::string prefix = pattern.substr(0, pattern.find_first_of("*?"));
    if (!prefix.empty()) {
      out.push_back({field, Op::Gte, Json(prefix)});
      if (auto next = prefix_successor(prefix)) out.push_back({field, Op::Lt, Json(std::move(*next))});
    }
    out.push_back({field, Op::Pattern, arg});
    return {};
  }
  return filter_error(at, "unknown range operation (expected Key, KeyRange, KeyPrefix or KeyPattern)");
}

NetworkResult<void> parse_range_filter(const Json& filter, std::vector<FilterClause>& out) {
  const Json& range = filter["range_filter"];
  if (const auto field = filter.find("field"); field != filter.end()) {
    if (!field->is_string()) return filter_error("filter.field", "expected a field name");
    return parse_range_op(field->get<std::string>(), range, "filter.range_filter", out);
  }
  if (range.empty()) return filter_error("filter.range_filter", R"(expected {"<field>": {"Key": v}} or another range operation)");
  for (const auto& [name, op] : range.items())
    if (auto r = parse_range_op(name, op, "filter.range_filter." + name, out); !r) return r;
  return {};
}

NetworkResult<void> parse_operator_form(const Json& filter, std::vector<FilterClause>& out) {
  if (filter.size() != 3) return filter_error("filter", R"(the operator form is {"field": f, "operator": op, "value": v})");
  const Json& field = filter["field"];
  if (!field.is_string()) return filter_error("filter.field", "expected a field name");
  const auto& name = filter["operator"].get_ref<const std::string&>();
  for (const auto& [op, op_name] : kOpNames) {
    if (name != op_name) continue;
    const Json& value = filter["value"];
    if (ordering(op) && !string_or_number(value))
      return filter_error("filter.value", "operator " + name + " needs a string or number, got " + value.type_name());
    out.push_back({field.get<std::string>(), op, value});
    return {};
  }
  return filter_error("filter.operator", "unknown operator '" + name + "' (expected eq, ne, gt, gte, lt, lte or contains)");
}

// {"gt": 30} in the equality map ({"age": {"gt": 30}}, fold_db's example queries): the
// operator and its value; nullopt for any other value, which is compared for equality.
std::optional<std::pair<Op, Json>> operator_object(const Json& value) {
  if (!value.is_object() || value.size() != 1) return std::nullopt;
  for (const auto& [op, op_name] : kOpNames)
    if (value.begin().key() == op_name) return std::pair{op, value.begin().value()};
  return std::nullopt;
}

// How deep "and" filters may nest. A filter from the local HTTP API is parsed JSON of any
// depth, and each level is a recursion here.
constexpr int kMaxConditionDepth = 8;

NetworkResult<std::vector<FilterClause>> parse_filter_at(const Json& filter, const std::string& path, int depth);

// {"operator": "and", "conditions": [filter, …]}: every condition's clauses. "or" cannot
// be a list of clauses that must all hold, so it is refused rather than answered wrong.
// `depth`: how many "and" filters this one is inside.
NetworkResult<void> parse_conditions(const Json& filter, std::vector<FilterClause>& out, int depth) {
  const auto& name = filter["operator"].get_ref<const std::string&>();
  if (filter.size() != 2) return filter_error("filter", R"(expected {"operator": "and", "conditions": [filter, …]})");
  if (name != "and")
    return filter_error("filter.operator", "'" + name +
                                      "' is not supported: a filter here is a conjunction (\"and\"); ask one query "
                                      "per alternative");
  const Json& conditions = filter["conditions"];
  if (!conditions.is_array() || conditions.empty()) return filter_error("filter.conditions", "expected a list of filters");
  if (depth >= kMaxConditionDepth)
    return filter_error("filter.conditions", "\"and\" filters nest at most " + std::to_string(kMaxConditionDepth) + " deep");
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    auto clauses = parse_filter_at(conditions[i], "filter.conditions[" + std::to_string(i) + "]", depth + 1);
    if (!clauses) return std::move(clauses).error();
    out.insert(out.end(), clauses->begin(), clauses->end());
  }
  return {};
}

// Exact comparisons of JSON numbers of different representations.
template <class T>
int three_way(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int compare_int_double(std::int64_t a, double b) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (b >= kTwo63) return -1;
  if (b < -kTwo63) return 1;
  const double whole = std::trunc(b);
  if (const int c = three_way(a, static_cast<std::int64_t>(whole)); c != 0) return c;
  return b > whole ? -1 : (b < whole ? 1 : 0);
}

int compare_uint_double(std::uint64_t a, double b) {
  if (a <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return compare_int_double(static_cast<std::int64_t>(a), b);
  constexpr double kTwo64 = 18446744073709551616.0;
  if (b < 9223372036854775808.0) return 1;
  if (b >= kTwo64) return -1;
  const double whole = std::trunc(b);
  if (const int c = three_way(a, static_cast<std::uint64_t>(whole)); c != 0) return c;
  return b > whole ? -1 : (b < whole ? 1 : 0);
}

int compare_numbers(const Json& a, const Json& b) {
  if (a.is_number_float() && b.is_number_float()) return three_way(a.get<double>(), b.get<double>());
  if (a.is_number_float()) return -compare_numbers(b, a);
  // a is an integer.
  if (b.is_number_float()) {
    return a.is_number_unsigned() ? compare_uint_double(a.get<std::uint64_t>(), b.get<double>())
                                  : compare_int_double(a.get<std::int64_t>(), b.get<double>());
  }
  const bool a_unsigned = a.is_number_unsigned();
  const bool b_unsigned = b.is_number_unsigned();
  if (!a_unsigned && !b_unsigned) return three_way(a.get<std::int64_t>(), b.get<std::int64_t>());
  if (a_unsigned && b_unsigned) return three_way(a.get<std::uint64_t>(), b.get<std::uint64_t>());
  if (a_unsigned) {
    const auto other = b.get<std::int64_t>();
    return other < 0 ? 1 : three_way(a.get<std::uint64_t>(), static_cast<std::uint64_t>(other));
  }
  return -compare_numbers(b, a);
}

}  // namespace

std::string_view to_string(FilterClause::Op op) noexcept {
  for (const auto& [o, name] : kOpNames)
    if (o == op) return name;
  return op == Op::Pattern ? "pattern" : "?";
}

bool glob_matches(std::string_view pattern, std::string_view text) noexcept {
  // Greedy with one backtrack point, the last '*': linear in practice, never exponential.
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

// A filter that is not absent or null; `depth` as for parse_conditions.
NetworkResult<std::vector<FilterClause>> parse_filter_json(const Json& f, int depth) {
  std::vector<FilterClause> out;
  if (!f.is_object()) return filter_error("filter", "expected a JSON object {field: value}");

  if (const auto op = f.find("operator"); op != f.end() && op->is_string() && f.contains("field") &&
                                          f.contains("value")) {
    if (auto r = parse_operator_form(f, out); !r) return std::move(r).error();
    return out;
  }
  if (const auto range = f.find("range_filter");
      range != f.end() && range->is_object() &&
      (f.size() == 1 || (f.size() == 2 && f.contains("field") && f["field"].is_string()))) {
    if (auto r = parse_range_filter(f, out); !r) return std::move(r).error();
    return out;
  }
  if (const auto op = f.find("operator"); op != f.end() && op->is_string() && f.contains("conditions")) {
    if (auto r = parse_conditions(f, out, depth); !r) return std::move(r).error();
    return out;
  }
  for (const auto& [name, value] : f.items()) {
    if (auto op = operator_object(value)) {
      if (ordering(op->first) && !string_or_number(op->second))
        return filter_error("filter." + name + "." + std::string(to_string(op->first)),
                   "needs a string or number, got " + std::string(op->second.type_name()));
      out.push_back({name, op->first, op->second});
    } else {
      out.push_back({name, Op::Eq, value});
    }
  }
  return out;
}

// parse_filter_json on a condition, its errors named from `path` instead of "filter".
NetworkResult<std::vector<FilterClause>> parse_filter_at(const Json& filter, const std::string& path, int depth) {
  if (filter.is_null()) return filter_error(path, "a condition cannot be null");
  auto clauses = parse_filter_json(filter, depth);
  if (clauses || !clauses.error().message.starts_with("filter")) return clauses;
  const std::string& message = clauses.error().message;
  const auto colon = message.find(": ");
  return filter_error(path + message.substr(6, colon - 6), message.substr(colon + 2));
}

}  // namespace

NetworkResult<std::vector<FilterClause>> parse_filter(const std::optional<Json>& filter) {
  if (!filter || filter->is_null()) return std::vector<FilterClause>{};
  return parse_filter_json(*filter, 0);
}

NetworkResult<std::vector<FilterClause>> parse_filter(const SchemaDefinition& schema,
                                                      const std::optional<Json>& filter) {
  auto clauses = parse_filter(filter);
  if (!clauses) return clauses;
  for (const auto& clause : *clauses) {
    if (schema.find_field(clause.field) != nullptr) continue;
    std::string fields;
    for (const auto& f : schema.fields) fields += (fields.empty() ? "" : ", ") + f.name;
    return filter_error("filter." + clause.field, "unknown field of schema " + schema.name + " (fields: " + fields + ")");
  }
  return clauses;
}

std::optional<int> compare_ordered(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b);
  if (a.is_string() && b.is_string())
    // std::char_traits<char> compares as unsigned char: bytewise.
    return a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>()) < 0
               ? -1
               : (a.get_ref<const std::string&>() == b.get_ref<const std::string&>() ? 0 : 1);
  return std::nullopt;
}

bool matches(const std::vector<FilterClause>& clauses, const Json& row) {
  static const Json kNull;
  for (const auto& clause : clauses) {
    const auto it = row.find(clause.field);  // end() for a row that is not an object
    const Json& value = it != row.end() ? *it : kNull;
    switch (clause.op) {
      case Op::Eq:
        if (value != clause.value) return false;
        continue;
      case Op::Ne:
        if (value == clause.value) return false;
        continue;
      case Op::Contains:
        if (value.is_string() && clause.value.is_string()) {
          if (value.get_ref<const std::string&>().find(clause.value.get_ref<const std::string&>()) == std::string::npos)
            return false;
        } else if (!value.is_array() || std::find(value.begin(), value.end(), clause.value) == value.end()) {
          return false;
        }
        continue;
      case Op::Pattern:
        if (!value.is_string() ||
            !glob_matches(clause.value.get_ref<const std::string&>(), value.get_ref<const std::string&>()))
          return false;
        continue;
      default: break;
    }
    const auto order = compare_ordered(value, clause.value);
    if (!order) return false;
    switch (clause.op) {
      case Op::Gt: if (!(*order > 0)) return false; break;
      case Op::Gte: if (!(*order >= 0)) return false; break;
      case Op::Lt: if (!(*order < 0)) return false; break;
      case Op::Lte: if (!(*order <= 0)) return false; break;
      default: break;
    }
  }
  return true;
}

}  // namespace datafold::store
