// Top-level members of a stored row's JSON text, found by one validating pass over it
// rather than by parsing it into a tree: the store's unfiltered queries read a few fields
// of every row, and SQLite's JSON functions (which parse the whole row for each) were
// most of such a query's cost.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace datafold::store {

// SQLite's limit on JSON nesting: containers within containers, the outermost counted.
inline constexpr std::size_t kMaxJsonDepth = 2000;

// Whether `text` is one JSON object (RFC 8259; whitespace around it allowed) and, if so,
// the JSON text of each member named in `keys`, in their order: empty for a key the object
// lacks. A key matches as written between its quotes, escapes and all (as SQLite 3.40's
// `->` matches a path), and the first of repeated keys is the one taken, as SQLite takes
// it. Values are checked as JSON but not decoded: strings' bytes above 0x7f are not
// checked as UTF-8 (as SQLite does not), and nesting deeper than kMaxJsonDepth is
// refused. nullopt when `text` is not such an object.
std::optional<std::vector<std::string_view>> json_members(std::string_view text, std::span<const std::string> keys);

// The same, into `found` (one slot per key; false if its size differs): what a caller
// reading many rows uses, with one buffer for them all rather than a vector per row.
bool json_members(std::string_view text, std::span<const std::string> keys, std::span<std::string_view> found);

}  // namespace datafold::store
