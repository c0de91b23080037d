#include "http_replies.hpp"

#include <httplib.h>

#include "json_views.hpp"

namespace datafold::app {

void reply_data(httplib::Response& res, const net::Json& data) {
  res.status = 200;
  res.set_content(net::Json{{"data", data}}.dump(), "application/json");
}

void reply_success(httplib::Response& res) { res.set_content(net::Json{{"success", true}}.dump(), "application/json"); }

void reply_error(httplib::Response& res, int status, const std::string& message,
                 const std::optional<net::NetworkError>& error) {
  net::Json body{{"error", message}};
  if (error) body["details"] = to_json(*error);
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// The HTTP status for a network error: the caller's fault (4xx) or the network's (5xx).
int status_for(const net::NetworkError& error) {
  // A query refused as a whole (net::refusal_of) is about what the caller asked.
  switch (error.code) {
    case net::ErrorCode::SchemaNotFound: return 404;
    case net::ErrorCode::InvalidDsl: return 400;
    case net::ErrorCode::PermissionDenied: return 403;
    default: break;
  }
  switch (error.kind) {
    case net::ErrorKind::Config: return 400;
    case net::ErrorKind::Discovery: return 404;
    case net::ErrorKind::Trust:
    case net::ErrorKind::Authentication: return 403;
    case net::ErrorKind::Timeout: return 504;
    case net::ErrorKind::ResourceExhausted: return 503;
    default: return 502;
  }
}

void reply_network_error(httplib::Response& res, const net::NetworkError& error) {
  reply_error(res, status_for(error), error.to_string(), error);
}

bool json_nested_too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxRequestJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

net::Json parse_request_json(std::string_view text) {
  if (json_nested_too_deep(text)) return net::Json(net::Json::value_t::discarded);
  return net::Json::parse(text, nullptr, false);
}

// Parses a JSON object body; on failure answers 400 and returns nullopt.
std::optional<net::Json> json_body(const httplib::Request& req, httplib::Response& res, bool allow_empty) {
  if (req.body.empty() && allow_empty) return net::Json::object();
  if (json_nested_too_deep(req.body)) {
    reply_error(res, 400, "request body nests more than " + std::to_string(kMaxRequestJsonDepth) + " deep");
    return std::nullopt;
  }
  auto body = net::Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    reply_error(res, 400, "request body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

void metric(std::ostringstream& out, const char* name, const char* type, const char* help, std::uint64_t value) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
      << name << ' ' << value << '\n';
}

}  // namespace datafold::app
