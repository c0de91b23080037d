// How the local HTTP API answers: {"data": …} or {"error": …, "details": …} with
// the HTTP status a network error deserves; JSON request bodies; Prometheus lines.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <datafold/net/error.hpp>
#include <datafold/net/json.hpp>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace datafold::app {

void reply_data(httplib::Response& res, const net::Json& data);
// fold_db's answer to a command that has nothing to return: {"success": true}.
void reply_success(httplib::Response& res);
void reply_error(httplib::Response& res, int status, const std::string& message,
                 const std::optional<net::NetworkError>& error = std::nullopt);
// The HTTP status for a network error: the caller's fault (4xx) or the network's (5xx).
int status_for(const net::NetworkError& error);
void reply_network_error(httplib::Response& res, const net::NetworkError& error);
// The deepest a request's JSON may nest. Parsing is iterative, but copying and printing
// a JSON value recurse once per level, so a body nested without end (even from a local
// client) could exhaust a handler thread's stack.
constexpr int kMaxRequestJsonDepth = 64;
// Whether `text` nests arrays and objects more than kMaxRequestJsonDepth deep (brackets
// inside strings do not count). Reads only as far as it must.
bool json_nested_too_deep(std::string_view text);
// `text` parsed, or a discarded value (is_discarded()) if it is not JSON or nests too deep.
net::Json parse_request_json(std::string_view text);
// Parses a JSON object body; on failure answers 400 and returns nullopt.
std::optional<net::Json> json_body(const httplib::Request& req, httplib::Response& res, bool allow_empty);
// One metric with its HELP and TYPE lines.
void metric(std::ostringstream& out, const char* name, const char* type, const char* help, std::uint64_t value);

}  // namespace datafold::app
