// When an answer is a refusal of the whole query: the rule that turns a data layer's
// per-field answer into the one Error a client acts on (PROTOCOL.md 7.3 and 9).
#pragma once

#include <optional>

#include "datafold/net/error.hpp"
#include "datafold/net/query.hpp"

namespace datafold::net {

// The Error a node sends instead of `answer`, or nullopt when `answer` goes as it is.
// A data layer speaks fold_db's per-field shape; a reason that holds for every field
// alike is about the query, and a client needs it as one error (a CLI exits non-zero,
// a program branches on the code), not as the same text in every slot:
//   every field NotFound                         -> SchemaNotFound (the schema does not exist)
//   every field InvalidDSL                       -> InvalidDsl (the filter cannot run here)
//   no field readable, one or more InvalidPermission
//                                                -> PermissionDenied (the requester may read
//                                                   nothing it asked for; the message names
//                                                   each field's reason)
// An answer with no fields is never a refusal. A field that exists and is merely denied
// beside a readable one stays an InvalidPermission entry in its slot.
std::optional<NetworkError> refusal_of(const QueryResult& answer);

}  // namespace datafold::net
