// JSON values in the API are nlohmann::json; on the wire they travel as the protobuf Value type.
#pragma once

#include <nlohmann/json.hpp>

namespace datafold::net {
using Json = nlohmann::json;
}
