// How the local HTTP API answers: {"data": …} or {"error": …, "details": …} with
// the HTTP status a network error deserves; JSON request bodies; Prometheus lines.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

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
// Parses a JSON object body; on failure answers 400 and returns nullopt.
std::optional<net::Json> json_body(const httplib::Request& req, httplib::Response& res, bool allow_empty);
// One metric with its HELP and TYPE lines.
void metric(std::ostringstream& out, const char* name, const char* type, const char* help, std::uint64_t value);

}  // namespace datafold::app
