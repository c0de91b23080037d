#include "http_trust.hpp"

#include <httplib.h>

#include "http_replies.hpp"
#include "json_views.hpp"
#include "trust_key_lookup.hpp"

namespace datafold::app {

namespace {

// The key the body's "node" names, looked up as the CLI looks it up, the nodes met being
// this node's own; nullopt after answering 400.
std::optional<net::PublicKey> key_of(const net::Json& body, net::NetworkCore& core, httplib::Response& res) {
  if (!body.contains("node") || !body["node"].is_string() || body["node"].get<std::string>().empty()) {
    reply_error(res, 400, "\"node\" (a node id, a unique prefix of one, or a public key) is required");
    return std::nullopt;
  }
  std::vector<net::PublicKey> met;
  for (const auto& [id, info] : core.known_nodes())
    if (!info.public_key.empty()) met.push_back(info.public_key);
  auto key = resolve_trust_key(body["node"].get<std::string>(), core.trust_store(), met, "known to this node");
  if (!key) {
    reply_network_error(res, key.error());
    return std::nullopt;
  }
  return *key;
}

// An optional text member: nullopt when absent, after answering 400 when not a string.
bool optional_text(const net::Json& body, const char* name, std::optional<std::string>& out, httplib::Response& res) {
  if (!body.contains(name) || body[name].is_null()) return true;
  if (!body[name].is_string()) {
    reply_error(res, 400, std::string("\"") + name + "\" must be a string (\"\" clears it)");
    return false;
  }
  out = body[name].get<std::string>();
  return true;
}

}  // namespace

void install_trust_routes(httplib::Server& server, net::NetworkCore& core) {
  server.Post("/api/v1/trust/reload", [&core](const httplib::Request&, httplib::Response& res) {
    auto& store = core.trust_store();
    // A malformed file is the caller's to fix: it comes back as a Config error (400),
    // and the node keeps the last good contents meanwhile.
    if (auto reloaded = store.reload(); !reloaded) return reply_network_error(res, reloaded.error());
    reply_data(res, {{"entries", store.entries().size()}});
  });

  server.Get("/api/v1/trust", [&core](const httplib::Request&, httplib::Response& res) {
    net::Json out = net::Json::array();
    for (const auto& entry : core.trust_store().entries()) out.push_back(to_json(entry));
    reply_data(res, out);
  });

  server.Post("/api/v1/trust/set", [&core](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res, false);
    if (!body) return;
    const auto& distance = (*body)["distance"];
    if (!distance.is_number_unsigned() || distance.get<std::uint64_t>() > 0xFFFFFFFFu)
      return reply_error(res, 400, "\"distance\" must be a whole number 0..4294967295");
    std::optional<std::string> note, name;
    if (!optional_text(*body, "note", note, res) || !optional_text(*body, "name", name, res)) return;
    auto key = key_of(*body, core, res);
    if (!key) return;
    auto& store = core.trust_store();
    if (auto saved = store.set(*key, distance.get<std::uint32_t>(), note, name); !saved)
      return reply_network_error(res, saved.error());
    for (const auto& entry : store.entries())
      if (entry.public_key == *key) return reply_data(res, to_json(entry));
    reply_error(res, 500, "the entry was saved but is no longer in the store");
  });

  server.Post("/api/v1/trust/remove", [&core](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res, false);
    if (!body) return;
    auto key = key_of(*body, core, res);
    if (!key) return;
    auto removed = core.trust_store().remove(*key);
    if (!removed) return reply_network_error(res, removed.error());
    if (!*removed)
      return reply_error(res, 404, "node " + key->node_id().short_string() + " (key " + key->to_string() +
                                       ") is not in the trust store");
    reply_data(res, {{"node_id", key->node_id().to_string()}, {"public_key", key->to_string()}, {"removed", true}});
  });
}

}  // namespace datafold::app
