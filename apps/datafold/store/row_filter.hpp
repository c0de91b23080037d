// RowFilter: which rows of a schema a query selects, as a list of clauses that must all
// hold, parsed from the filter JSON a query carries, and the exact check of one row.
//
// Accepted filter shapes (parse_filter):
//   absent or null                         no clauses: every row;
//   {"name": "ann", "age": 30}             equality on each field (the store's own shape);
//   {"age": {"gt": 30}, "bio": {"contains": "x"}}
//                                          a value that is an object with one key, an
//                                          operator below, applies that operator (fold_db's
//                                          example queries); any other value is equality;
//   {"operator": "and", "conditions": [filter, …]}
//                                          every condition holds ("or" is refused: clauses
//                                          here must all hold);
//   {"field": "age", "operator": "gt", "value": 25}
//                                          fold_db's operator form; operators eq, ne, gt, gte,
//                                          lt, lte, contains (recognised when "operator" is a
//                                          string and "field" and "value" are present);
//   {"field": "f", "range_filter": {"KeyRange": {"start": a, "end": b}}}
//   {"range_filter": {"f": {"KeyRange": {"start": a, "end": b}}}}
//                                          f >= a and f < b (start inclusive, end exclusive);
//   {"range_filter": {"f": {"Key": v}}}    f == v;
//   {"range_filter": {"f": {"KeyPrefix": "p"}}}
//                                          f is a string starting with p (bytewise);
//   {"range_filter": {"f": {"KeyPattern": "user_*"}}}
//                                          f is a string matching the glob: * any run of
//                                          bytes, ? any one byte, everything else itself;
// fold_db's range forms are recognised when "range_filter" is an object and the only other
// key, if any, is a string "field". Range bounds and keys must be strings or numbers.
//
// ne is JSON inequality (a row without the field has null there, which differs from any
// value but null). contains holds for a string field containing the value as a substring
// (the value a string) and for an array field with an element equal to the value.
//
// No SQLite here: the store turns clauses into SQL that narrows the rows, and matches()
// decides.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>

#include "store/schema_definition.hpp"

namespace datafold::store {

struct FilterClause {
  // Pattern: KeyPattern's glob, in `value` as a string.
  enum class Op { Eq, Ne, Gt, Gte, Lt, Lte, Contains, Pattern };

  std::string field;
  Op op = Op::Eq;
  // For a KeyPrefix's upper bound this may be a byte string that is not UTF-8 (the
  // prefix with its last byte raised): compare it, don't dump it.
  net::Json value;

  friend bool operator==(const FilterClause&, const FilterClause&) = default;
};

// "eq", "ne", "gt", "gte", "lt", "lte", "contains", "pattern".
std::string_view to_string(FilterClause::Op op) noexcept;

// The clauses of `filter`, field names as written (not checked against a schema).
// Config, with a message starting "filter", if the shape is wrong: not an object, an
// unknown operator, a malformed operator or range form, a range bound or key that is not
// a string or number, an ordering operator on something else.
net::NetworkResult<std::vector<FilterClause>> parse_filter(const std::optional<net::Json>& filter);

// As above, and every clause's field must be one of `schema`'s: Config
// "filter.<field>: unknown field of schema <S> (fields: a, b, …)" otherwise.
net::NetworkResult<std::vector<FilterClause>> parse_filter(const SchemaDefinition& schema,
                                                           const std::optional<net::Json>& filter);

// Whether `text` matches the KeyPattern glob `pattern` (* any run, ? any one byte).
bool glob_matches(std::string_view pattern, std::string_view text) noexcept;

// Whether `row` (a JSON object; a missing field reads as null) satisfies every clause.
// Eq is JSON equality (1 == 1.0, 1 != true, "1" != 1). The ordering operators compare a
// number with a number (exactly, integers beyond 2^53 included) and a string with a string
// (bytewise, which for UTF-8 is code point order); a value of any other type, or of the
// other of the two, never matches.
bool matches(const std::vector<FilterClause>& clauses, const net::Json& row);

// The ordering of two numbers or two strings: <0, 0, >0; nullopt if they are not both
// numbers or both strings. Exact for every JSON number pair, as SQLite compares them.
std::optional<int> compare_ordered(const net::Json& a, const net::Json& b);

}  // namespace datafold::store
