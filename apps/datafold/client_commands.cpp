#include "client_commands.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include <datafold/net/identity.hpp>
#include <datafold/net/network_core.hpp>

#include "data_dir.hpp"
#include "exit_code.hpp"
#include "running_node.hpp"
#include "datafold/net/host_port.hpp"
#include "json_views.hpp"
#include "seconds_validator.hpp"

namespace datafold::app {

namespace {

using net::Json;

// Ten minutes: past that, a person at a terminal would rather hear that something failed.
constexpr double kMaxClientTimeoutSeconds = 600;
// The longest --wait-ms the library accepts (NetworkConfig::validate).
constexpr long kMaxDiscoveryWaitMs = 30'000;
// What NetworkConfig::unknown_trust_distance defaults to: shown as "unknown", not a number.
constexpr std::uint32_t kUntrusted = 0xFFFFFFFFu;

// Progress and warnings go to stderr, so stdout stays the command's answer (and valid
// JSON with --json).
void to_stderr(std::string_view message) { std::cerr << message << std::endl; }

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// ------------------------------------------------------------------ local HTTP API

net::NetworkResult<Json> api_answer(const std::string& address, const httplib::Result& response) {
  if (!response) {
    // A refused connection is the common case and needs no detail; a timeout does.
    const auto why = response.error() == httplib::Error::Connection ? std::string{}
                                                                     : " (" + httplib::to_string(response.error()) + ")";
    return net::make_error(net::ErrorKind::Connection,
                           "no node answering at " + address + why + "; is `datafold node` running? see --http");
  }
  auto body = Json::parse(response->body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return net::make_error(net::ErrorKind::Protocol, "the server at " + address + " is not a datafold node's HTTP API (HTTP " +
                                                         std::to_string(response->status) + ")");
  if (response->status == 200 && body.contains("data")) return body["data"];
  if (body.contains("error") && body["error"].is_string()) {
    // The API's details carry the library's error kind; keep it so the exit code means the same.
    auto kind = net::ErrorKind::Discovery;
    if (const auto details = body.find("details"); details != body.end() && details->is_object()) {
      const std::string name = details->value("kind", "");
      for (auto k : {net::ErrorKind::Connection, net::ErrorKind::Discovery, net::ErrorKind::Message,
                     net::ErrorKind::Authentication, net::ErrorKind::Trust, net::ErrorKind::Config,
                     net::ErrorKind::Timeout, net::ErrorKind::Protocol, net::ErrorKind::ResourceExhausted})
        if (net::to_string(k) == name) kind = k;
    } else if (response->status == 400) {
      kind = net::ErrorKind::Config;
    }
    return net::make_error(kind, body["error"].get<std::string>());
  }
  return net::make_error(net::ErrorKind::Protocol,
                         "unexpected answer from " + address + " (HTTP " + std::to_string(response->status) + ")");
}

std::optional<httplib::Client> api_client(const std::string& address, std::chrono::milliseconds timeout) {
  const auto where = net::parse_host_port(address);
  if (!where) return std::nullopt;
  std::optional<httplib::Client> client(std::in_place, where->host, where->port);
  client->set_connection_timeout(std::chrono::seconds(3));
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  return client;
}

net::NetworkError bad_http_address(const std::string& address) {
  return net::make_error(net::ErrorKind::Config, "--http: '" + address + "' is not HOST:PORT");
}

net::NetworkError http_off() {
  return net::make_error(net::ErrorKind::Config,
                         "no HTTP API to ask: --http is off, or the node running on this data dir serves none "
                         "(start it with --http IP:PORT)");
}

// ------------------------------------------------------------------ text output

std::string cell(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return json_text(value);
}

std::string trust_text(const Json& distance) {
  if (!distance.is_number_unsigned()) return "-";
  const auto d = distance.get<std::uint64_t>();
  return d >= kUntrusted ? "unknown" : std::to_string(d);
}

std::string ago_text(const Json& last_seen_ms) {
  if (!last_seen_ms.is_number()) return "-";
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto seconds = std::max<std::int64_t>(0, (now - last_seen_ms.get<std::int64_t>()) / 1000);
  if (seconds < 120) return std::to_string(seconds) + "s ago";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m ago";
  return std::to_string(seconds / 3600) + "h ago";
}

// Nodes as json_views shows them (an array of NodeInfo objects), as a table.
void print_nodes(const Json& nodes, std::string_view none) {
  if (!nodes.is_array() || nodes.empty()) {
    std::cout << none << '\n';
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& node : nodes) {
    const std::string id = node.value("node_id", "");
    // Every address in the order a dial tries them, one per line, with where it came
    // from; a node that sends only "address" (an older one) shows that.
    std::vector<std::string> addresses;
    if (const auto listed = node.value("addresses", Json()); listed.is_array()) {
      for (const auto& entry : listed) {
        if (!entry.is_object() || !entry.value("address", Json()).is_string()) continue;
        std::string text = entry.value("address", "") + " (" + entry.value("source", "?") + ")";
        if (entry.value("last_success_ms", Json()).is_number()) text.insert(text.size() - 1, ", connected " + ago_text(entry["last_success_ms"]));
        addresses.push_back(std::move(text));
      }
    }
    if (addresses.empty()) {
      const auto address = node.value("address", Json());
      addresses.push_back(address.is_string() && !address.get<std::string>().empty() ? cell(address) : "-");
    }
    // What the local node thinks of it (`peers`; `discover` has no such view).
    std::string standing = "-";
    if (const auto reputation = node.value("reputation", Json()); reputation.is_object()) {
      char score[32];
      std::snprintf(score, sizeof score, "%.1f", reputation.value("score", 0.0));
      standing = reputation.value("state", std::string("?")) + " " + score;
    }
    // How its connection was made (direct, mapped, hole-punched, relayed); "-" when not connected.
    const auto path = node.value("path", Json());
    rows.push_back({id.substr(0, 12), addresses.front(), node.value("health", ""),
                    trust_text(node.value("trust_distance", Json())), ago_text(node.value("last_seen_ms", Json())),
                    standing, path.is_string() ? cell(path) : "-"});
    for (std::size_t i = 1; i < addresses.size(); ++i) rows.push_back({"", addresses[i], "", "", "", "", ""});
  }
  print_table(std::cout, {"NODE", "ADDRESSES", "HEALTH", "TRUST", "LAST SEEN", "REPUTATION", "PATH"}, rows);
}

void print_schemas(const Json& schemas) {
  if (!schemas.is_array() || schemas.empty()) {
    std::cout << "no schemas this node may read\n";
    return;
  }
  // Fields as "name:type" ("name" when the type is not declared), those this identity
  // may read apart from the others, so a query can be written without trial and error.
  const auto fields = [](const Json& schema, bool readable) {
    std::string out;
    if (!schema.contains("fields") || !schema["fields"].is_array()) return out;
    for (const auto& field : schema["fields"]) {
      if (field.value("readable", false) != readable) continue;
      if (!out.empty()) out += ' ';
      out += field.value("name", "");
      if (const auto type = field.value("type", ""); !type.empty()) out += ":" + type;
    }
    return out;
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& schema : schemas)
    rows.push_back({schema.value("name", ""), cell(schema.value("version", Json())),
                    cell(schema.value("description", Json())), fields(schema, true), fields(schema, false)});
  print_table(std::cout, {"SCHEMA", "VERSION", "DESCRIPTION", "READABLE FIELDS", "OTHER FIELDS"}, rows);
}

// An answer as json_views shows it ({"results": [{"field", "value" | "error"}]}), printed
// a part at a time as it arrives. When every readable field holds an equally long array
// (the embedded store's shape: one value per matching row) the rows become a table, its
// columns sized by the first part; otherwise one line per field. Fields that could not be
// read are listed under the table with the node's reason, and a cursor (the answer was
// cut by --limit) after them.
class QueryPrinter {
 public:
  void part(const Json& answer) {
    const auto& results = answer.at("results");
    if (first_) {
      first_ = false;
      for (const auto& entry : results) {
        header_.push_back(entry.value("field", ""));
        if (entry.contains("error"))
          errors_.push_back(entry.value("field", "") + ": " + entry["error"].value("kind", "") + ": " +
                            entry["error"].value("message", ""));
      }
    }
    if (answer.contains("cursor")) cursor_ = answer["cursor"].get<std::string>();
    std::optional<std::size_t> row_count;
    bool tabular = true;
    for (const auto& entry : results) {
      if (entry.contains("error")) continue;
      const auto& value = entry["value"];
      if (!value.is_array() || (row_count && *row_count != value.size())) {
        tabular = false;
        break;
      }
      row_count = value.size();
    }
    if (!tabular || !row_count) {
      for (const auto& entry : results)
        if (!entry.contains("error")) std::cout << entry.value("field", "") << ": " << cell(entry["value"]) << '\n';
      return;
    }
    std::vector<std::vector<std::string>> rows(*row_count);
    for (std::size_t i = 0; i < *row_count; ++i)
      for (const auto& entry : results) {
        if (!entry.contains("error")) rows[i].push_back(cell(entry["value"][i]));
        else rows[i].push_back(entry["error"].value("kind", "") == "InvalidPermission" ? "(denied)" : "(error)");
      }
    if (!widths_) {
      widths_ = column_widths(header_, rows);
      print_row(std::cout, *widths_, header_);
    }
    for (const auto& row : rows) print_row(std::cout, *widths_, row);
    rows_ += *row_count;
    std::cout.flush();
  }

  void finish() const {
    if (widths_ && rows_ == 0) std::cout << "(no matching rows)\n";
    for (const auto& line : errors_) std::cout << line << '\n';
    if (!cursor_.empty()) std::cout << "(more rows: add --cursor " << cursor_ << ")\n";
  }

 private:
  bool first_ = true;
  std::vector<std::string> header_;
  std::optional<std::vector<std::size_t>> widths_;
  std::uint64_t rows_ = 0;
  std::vector<std::string> errors_;
  std::string cursor_;
};

// Joins the parts of an answer into one (each field's value arrays grow), for --json.
void join_answer(Json& whole, const Json& part) {
  if (whole.is_null()) {
    whole = part;
    return;
  }
  auto& results = whole["results"];
  const auto& more = part.at("results");
  for (std::size_t i = 0; i < results.size() && i < more.size(); ++i)
    if (results[i].contains("value") && results[i]["value"].is_array() && more[i].contains("value"))
      for (const auto& v : more[i]["value"]) results[i]["value"].push_back(v);
  if (part.contains("cursor")) whole["cursor"] = part["cursor"];
}

// ------------------------------------------------------------------ reaching the network

// A node reference a person typed: host:port, or a node id / prefix (base32, either case).
bool is_address(const std::string& text) { return text.find(':') != std::string::npos; }

net::NetworkResult<void> check_reference(const std::string& text) {
  if (text.empty()) return net::make_error(net::ErrorKind::Config, "empty node reference");
  if (is_address(text)) return {};
  if (text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != std::string::npos ||
      text.size() > net::NodeId::kTextSize)
    return net::make_error(net::ErrorKind::Config, "'" + text + "' is not a node id, an id prefix or host:port");
  return {};
}

net::NetworkError ambiguous(const std::string& prefix, std::size_t matches, bool own_among_them) {
  return net::make_error(net::ErrorKind::Config, "node prefix '" + prefix + "' matches " + std::to_string(matches) +
                                                     " nodes" +
                                                     (own_among_them ? " (this data dir's own among them)" : "") +
                                                     "; give more characters");
}

// How a client command reaches other nodes, with the data dir's identity. Every answer is
// JSON as json_views shows it, so both ways print alike.
class ClientSession {
 public:
  virtual ~ClientSession() = default;
  // Nodes found (as an array of NodeInfo objects), after dialling --bootstrap peers.
  virtual net::NetworkResult<Json> discover() = 0;
  // The schemas `node` lets this identity read (an array of SchemaInfo objects).
  virtual net::NetworkResult<Json> schemas(const std::string& node) = 0;
  // {"node_id": …, "results": […]}
  virtual net::NetworkResult<Json> query(const std::string& node, net::Query query) = 0;
  // The answer a part at a time, each {"results": […]} (the last with "cursor" when a
  // limit cut it) handed to `on_part` as it arrives; returns {"node_id": …}. By
  // default the whole answer as one part.
  virtual net::NetworkResult<Json> query_in_parts(const std::string& node, net::Query query,
                                                  const std::function<void(const Json&)>& on_part) {
    auto whole = this->query(node, std::move(query));
    if (!whole) return whole;
    if (!whole->is_object() || !whole->contains("results"))
      return net::make_error(net::ErrorKind::Message, "the node's answer has no results");
    on_part(*whole);
    return Json{{"node_id", whole->value("node_id", "")}};
  }
};

// A short-lived node of the client's own: it dials out and never accepts, so a serving
// node sees this identity's key and applies its own trust store to it.
class ClientNode final : public ClientSession {
 public:
  static net::NetworkResult<std::unique_ptr<ClientNode>> create(const GlobalOptions& global, net::Identity identity,
                                                                const ClientNetworkOptions& options, bool discovery) {
    net::NetworkConfig config;
    config.listen_address = "127.0.0.1";
    config.listen_port = 0;
    config.accept_connections = false;
    config.identity = std::move(identity);
    config.network_name = options.network;
    // The tables show what this data dir trusts each node at.
    config.trust_store_file = trust_store_path(global.data_dir);
    config.enable_discovery = discovery && !options.no_discovery;
    config.discovery_port = options.discovery_port;
    config.discovery_interfaces = options.discovery_interfaces;
    config.discovery_wait = std::chrono::milliseconds(options.wait_ms);
    const auto timeout = to_millis(options.timeout_seconds);
    config.connect_timeout = timeout;
    config.handshake_timeout = timeout;
    config.request_timeout = timeout;
    config.handler_threads = 1;
    const auto own_id = config.identity->node_id();
    const bool discovering = config.enable_discovery;
    auto core = net::NetworkCore::create(std::move(config), own_id, std::nullopt);
    if (!core) return std::move(core).error();
    if (auto started = core->start(); !started) return std::move(started).error();
    return std::unique_ptr<ClientNode>(new ClientNode(std::move(*core), options, discovering));
  }

  net::NetworkResult<Json> discover() override {
    connect_bootstrap();
    probe();
    auto found = core_.discover_nodes();
    if (!found) return std::move(found).error();
    // Only nodes that can be dialled: an entry without an address is a client like this one.
    std::vector<net::NodeInfo> nodes;
    for (auto& node : *found)
      if (!node.address.empty()) nodes.push_back(std::move(node));
    return to_json(nodes);
  }

  net::NetworkResult<Json> schemas(const std::string& node) override {
    auto id = resolve(node);
    if (!id) return std::move(id).error();
    say("listing schemas of " + describe(*id) + "…");
    auto listed = core_.list_available_schemas(*id);
    if (!listed) return std::move(listed).error();
    return to_json(*listed);
  }

  // Rows are handed on as parts arrive, and the peer sends only a few parts ahead of
  // what has been printed: an answer of any size, in the memory of a few parts.
  net::NetworkResult<Json> query_in_parts(const std::string& node, net::Query query,
                                          const std::function<void(const Json&)>& on_part) override {
    auto id = resolve(node);
    if (!id) return std::move(id).error();
    say("querying " + describe(*id) + "…");
    auto stream = core_.stream_query(*id, std::move(query), {net::QueryService::kDefaultStreamWindow, to_millis(options_.timeout_seconds)});
    if (!stream) return std::move(stream).error();
    const auto started = std::chrono::steady_clock::now();
    auto last_said = started;
    std::uint64_t rows = 0, parts = 0;
    for (;;) {
      auto part = (*stream)->next();
      if (!part) return std::move(part).error();
      if (!*part) break;
      ++parts;
      for (const auto& field : (*part)->results)
        if (field.ok() && field.value().is_array()) {
          rows += field.value().size();
          break;
        }
      on_part(to_json(**part));
      // A long answer says how far it got, about once a second.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_said >= std::chrono::seconds(1)) {
        last_said = now;
        say("… " + std::to_string(rows) + " rows in " + std::to_string(parts) + " parts, " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - started).count()) + " s");
      }
    }
    if (parts > 1) say(std::to_string(rows) + " rows in " + std::to_string(parts) + " parts");
    return Json{{"node_id", id->to_string()}};
  }

  net::NetworkResult<Json> query(const std::string& node, net::Query query) override {
    auto id = resolve(node);
    if (!id) return std::move(id).error();
    say("querying " + describe(*id) + "…");
    auto answered = core_.query_node(*id, std::move(query));
    if (!answered) return std::move(answered).error();
    auto out = to_json(*answered);
    out["node_id"] = id->to_string();
    return out;
  }

 private:
  ClientNode(net::NetworkCore core, ClientNetworkOptions options, bool discovering)
      : core_(std::move(core)), options_(std::move(options)), discovering_(discovering) {}

  void say(std::string_view message) const {
    if (options_.show_progress) to_stderr(message);
  }

  // Dials every --bootstrap peer; one that cannot be reached is a warning, since the node
  // wanted may be known another way.
  void connect_bootstrap() {
    if (bootstrapped_) return;
    bootstrapped_ = true;
    for (const auto& peer : options_.bootstrap) {
      say("connecting to " + peer + "…");
      if (auto connected = core_.connect_to_address(peer); !connected)
        to_stderr("datafold: warning: --bootstrap " + peer + ": " + connected.error().message);
    }
  }

  // Probes the LAN if discovery is on, and waits --wait-ms for answers.
  void probe() {
    if (!discovering_) return;
    say("probing for " + std::to_string(options_.wait_ms) + " ms…");
    (void)core_.discover_nodes();
  }

  // NODE: host:port (dialled), a full node id or a unique prefix of one. Looks in what
  // --bootstrap found, then on the LAN, then asks the local node (--http) who it knows.
  net::NetworkResult<net::NodeId> resolve(const std::string& text) {
    if (auto checked = check_reference(text); !checked) return std::move(checked).error();
    if (is_address(text)) {
      say("connecting to " + text + "…");
      return core_.connect_to_address(text);
    }
    connect_bootstrap();
    // A match (or an error) ends the search; this identity's own node is never on the
    // network to itself: only the node running it can answer for it (OwnNodeSession).
    auto settle = [&](net::NetworkResult<net::NodeId> found) -> std::optional<net::NetworkResult<net::NodeId>> {
      if (found && found->empty()) return std::nullopt;
      if (found && *found == core_.local_node_id())
        return net::make_error(net::ErrorKind::Connection,
                               "'" + text + "' is this data dir's own node, and it is not answering at " +
                                   (options_.http == "off" ? "--http (it is off)" : options_.http) +
                                   " (start `datafold node`, or point --http at it)");
      return found;
    };
    if (auto found = settle(match_known(text))) return std::move(*found);
    if (discovering_) {
      probe();
      if (auto found = settle(match_known(text))) return std::move(*found);
    }
    std::string tried = discovering_ ? "the LAN" : "";
    if (!options_.bootstrap.empty()) tried += std::string(tried.empty() ? "" : ", ") + "--bootstrap peers";
    if (options_.http != "off") {
      const bool answered = learn_from_local_node(text);
      if (auto found = settle(match_known(text))) return std::move(*found);
      tried += std::string(tried.empty() ? "" : ", ") + "the node at " + options_.http +
               (answered ? "" : " (not reachable)");
    }
    return net::make_error(net::ErrorKind::Discovery,
                           "no known node matches '" + text + "'" + (tried.empty() ? "" : " (looked in " + tried + ")") +
                               "; give a node id, a unique prefix, or host:port");
  }

  // Adds the nodes the local node (--http) knows whose ids start with `prefix`, and the
  // local node itself, which its own list leaves out. False if it did not answer.
  bool learn_from_local_node(const std::string& prefix) {
    say("asking the node at " + options_.http + " where " + prefix + " is…");
    const auto timeout = to_millis(options_.timeout_seconds);
    auto nodes = local_api_get(options_.http, "/api/v1/network/nodes", timeout);
    if (!nodes || !nodes->is_array()) return false;
    if (auto status = local_api_get(options_.http, "/api/v1/network/status", timeout);
        status && status->is_object() && status->value("listen_port", 0) != 0) {
      // It listens on the address its HTTP API is on, or on every address.
      const auto http = net::parse_host_port(options_.http);
      nodes->push_back({{"node_id", status->value("node_id", "")},
                        {"public_key", status->value("public_key", Json())},
                        {"address", net::HostPort{http->host, status->value("listen_port", std::uint16_t{0})}.to_string()}});
    }
    for (const auto& node : *nodes) {
      auto id = net::NodeId::from_string(node.value("node_id", ""));
      const auto address = node.value("address", Json());
      if (!id || !id->matches_prefix(prefix) || !address.is_string() || address.get<std::string>().empty()) continue;
      net::NodeInfo info;
      info.node_id = *id;
      const auto key_text = node.value("public_key", Json());
      if (auto key = net::PublicKey::from_string(key_text.is_string() ? key_text.get<std::string>() : std::string{});
          key && key->node_id() == *id)
        info.public_key = *key;
      info.address = address.get<std::string>();
      core_.add_known_node(std::move(info));
    }
    return true;
  }

  // The node `text` names among the known ones and this identity's own: an empty id when
  // none does, an error when several do.
  net::NetworkResult<net::NodeId> match_known(const std::string& text) const {
    std::vector<net::NodeId> matches;
    for (const auto& [id, info] : core_.known_nodes())
      if (id.matches_prefix(text) && !info.address.empty()) matches.push_back(id);
    const bool self = core_.local_node_id().matches_prefix(text);
    if (self) matches.push_back(core_.local_node_id());
    if (matches.size() > 1) return ambiguous(text, matches.size(), self);
    return matches.empty() ? net::NodeId{} : matches.front();
  }

  // "e4lg3jgeu7i3 at 127.0.0.1:9000", for progress lines.
  std::string describe(const net::NodeId& id) const {
    const auto known = core_.known_nodes();
    const auto it = known.find(id);
    return id.short_string() + (it != known.end() && !it->second.address.empty() ? " at " + it->second.address : "");
  }

  net::NetworkCore core_;
  ClientNetworkOptions options_;
  bool discovering_ = false;
  bool bootstrapped_ = false;
};

// The node running on this very data dir, asked through its HTTP API. A client must not
// dial as the node it shares an identity with: a peer keeps one connection per node id,
// so the client's connection would replace the node's own and cut it off. The node asks
// with the same key, so the serving node's answer is the one this identity would get.
class OwnNodeSession final : public ClientSession {
 public:
  OwnNodeSession(net::NodeId own_id, ClientNetworkOptions options)
      : own_id_(own_id), options_(std::move(options)) {}

  net::NetworkResult<Json> discover() override {
    connect_bootstrap();
    say("asking this data dir's node at " + options_.http + " to probe…");
    auto found = post("/api/v1/network/discover", Json::object());
    if (!found) return found;
    Json nodes = Json::array();
    if (found->is_array())
      for (auto& node : *found)
        if (node.value("address", Json()).is_string() && !node["address"].get<std::string>().empty())
          nodes.push_back(std::move(node));
    return nodes;
  }

  net::NetworkResult<Json> schemas(const std::string& node) override {
    auto id = resolve(node);
    if (!id) return std::move(id).error();
    if (*id == own_id_) return get("/api/v1/schemas");
    say("listing schemas of " + id->short_string() + " through this data dir's node at " + options_.http + "…");
    return get("/api/v1/schemas?node=" + id->to_string());
  }

  net::NetworkResult<Json> query(const std::string& node, net::Query query) override {
    auto id = resolve(node);
    if (!id) return std::move(id).error();
    Json body{{"schema", query.schema_name}, {"fields", query.fields}};
    if (query.filter) body["filter"] = *query.filter;
    if (query.limit != 0) body["limit"] = query.limit;
    if (!query.cursor.empty()) body["cursor"] = cursor_to_text(query.cursor);
    if (*id != own_id_) {
      say("querying " + id->short_string() + " through this data dir's node at " + options_.http + "…");
      body["node"] = id->to_string();
    }
    auto answer = post("/api/v1/query", body);
    if (!answer) return answer;
    if (answer->is_object()) (*answer)["node_id"] = id->to_string();
    return answer;
  }

 private:
  void say(std::string_view message) const {
    if (options_.show_progress) to_stderr(message);
  }

  net::NetworkResult<Json> get(const std::string& path) {
    return local_api_get(options_.http, path, to_millis(options_.timeout_seconds));
  }
  net::NetworkResult<Json> post(const std::string& path, const Json& body) {
    return local_api_post(options_.http, path, body, to_millis(options_.timeout_seconds));
  }

  void connect_bootstrap() {
    for (const auto& peer : options_.bootstrap) {
      say("connecting to " + peer + " through this data dir's node…");
      if (auto connected = post("/api/v1/network/connect", {{"address", peer}}); !connected)
        to_stderr("datafold: warning: --bootstrap " + peer + ": " + connected.error().message);
    }
  }

  // The node's own id, or the id the node resolves NODE to (dialling host:port).
  net::NetworkResult<net::NodeId> resolve(const std::string& text) {
    if (auto checked = check_reference(text); !checked) return std::move(checked).error();
    connect_bootstrap();
    if (!is_address(text) && own_id_.matches_prefix(text)) {
      // The node's list leaves itself out: a prefix it shares with a node it knows is ambiguous.
      std::size_t matches = 1;
      if (auto nodes = get("/api/v1/network/nodes"); nodes && nodes->is_array())
        for (const auto& node : *nodes)
          if (auto id = net::NodeId::from_string(node.value("node_id", "")); id && id->matches_prefix(text)) ++matches;
      if (matches > 1) return ambiguous(text, matches, true);
      return own_id_;
    }
    if (is_address(text)) say("connecting to " + text + " through this data dir's node…");
    auto connected = post("/api/v1/network/connect", is_address(text) ? Json{{"address", text}} : Json{{"node_id", text}});
    if (!connected) return std::move(connected).error();
    auto id = net::NodeId::from_string(connected->is_object() ? connected->value("node_id", "") : std::string{});
    if (!id) return net::make_error(net::ErrorKind::Protocol, "the node at " + options_.http + " named no node id");
    return *id;
  }

  net::NodeId own_id_;
  ClientNetworkOptions options_;
};

// `options` as this run uses them: --http resolved for the data dir, progress shown
// unless --log-level asks for warnings or less.
ClientNetworkOptions for_this_run(ClientNetworkOptions options, const GlobalOptions& global) {
  options.http = options.http_option.address(global.data_dir);
  options.show_progress = global.log_level == "trace" || global.log_level == "debug" || global.log_level == "info";
  return options;
}

// The way a client command reaches the network: through the node running on this data
// dir if --http reaches it, else as a short-lived node of its own.
net::NetworkResult<std::unique_ptr<ClientSession>> open_session(const GlobalOptions& global,
                                                                const ClientNetworkOptions& options, bool discovery) {
  if (auto made = ensure_data_dir(global.data_dir); !made) return std::move(made).error();
  auto identity = net::Identity::load_or_create(identity_path(global.data_dir));
  if (!identity) return std::move(identity).error();
  for (const auto& peer : options.bootstrap)
    if (!net::parse_host_port(peer))
      return net::make_error(net::ErrorKind::Config, "--bootstrap: '" + peer + "' is not HOST:PORT");
  if (options.http != "off") {
    if (!net::parse_host_port(options.http)) return bad_http_address(options.http);
    // Nothing listening on loopback answers at once, so this costs little when no node runs.
    auto status = local_api_get(options.http, "/api/v1/network/status", std::chrono::seconds(3));
    if (status && status->is_object() && status->value("node_id", "") == identity->node_id().to_string() &&
        status->value("running", false))
      return std::unique_ptr<ClientSession>(std::make_unique<OwnNodeSession>(identity->node_id(), options));
  }
  // Dialling with the identity of the node running on this data dir would replace that
  // node's own connections (OwnNodeSession says why): through its HTTP API or not at all.
  if (auto running = find_running_node(global.data_dir))
    return net::make_error(net::ErrorKind::Config,
                           "the node running on this data dir (" + running->describe() + ") is not reachable " +
                               (options.http == "off" ? std::string("with --http off") : "at " + options.http) +
                               ", and this command may not dial with that node's identity while it runs; "
                               "let it go through the node's HTTP API, or use another --data-dir");
  auto node = ClientNode::create(global, std::move(*identity), options, discovery);
  if (!node) return std::move(node).error();
  return std::unique_ptr<ClientSession>(std::move(*node));
}

}  // namespace

// ------------------------------------------------------------------ shared helpers

std::string json_text(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

namespace {

// Widths in code points, so "…" or an accented name does not push a column out of line.
std::size_t text_width(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::vector<std::size_t> column_widths(const std::vector<std::string>& header,
                                       const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = text_width(header[i]);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], text_width(row[i]));
  return widths;
}

void print_row(std::ostream& out, const std::vector<std::size_t>& widths, const std::vector<std::string>& cells) {
  std::string text;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    // Tabs and newlines in a value would break the columns.
    std::string value = cells[i];
    std::replace_if(value.begin(), value.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
    text += value;
    const std::size_t width = i < widths.size() ? widths[i] : 0;
    if (i + 1 < cells.size()) text.append(width - std::min(width, text_width(value)) + 2, ' ');
  }
  out << text << '\n';
}

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  const auto widths = column_widths(header, rows);
  print_row(out, widths, header);
  for (const auto& row : rows) print_row(out, widths, row);
}

net::NetworkResult<Json> local_api_get(const std::string& address, const std::string& path,
                                       std::chrono::milliseconds timeout) {
  if (address == "off") return http_off();
  auto client = api_client(address, timeout);
  if (!client) return bad_http_address(address);
  return api_answer(address, client->Get(path));
}

net::NetworkResult<Json> local_api_post(const std::string& address, const std::string& path, const Json& body,
                                        std::chrono::milliseconds timeout) {
  if (address == "off") return http_off();
  auto client = api_client(address, timeout);
  if (!client) return bad_http_address(address);
  return api_answer(address, client->Post(path, json_text(body), "application/json"));
}

void ClientNetworkOptions::add_to(CLI::App& command) {
  const net::NetworkConfig defaults;
  network = defaults.network_name;
  discovery_port = defaults.discovery_port;
  command.add_option("--bootstrap", bootstrap, "HOST:PORT of a node to dial first (repeatable)");
  command.add_option("--network", network, "Network name; nodes of another network refuse us")
      ->capture_default_str();
  command.add_flag("--no-discovery", no_discovery, "Do not probe the LAN for nodes");
  command.add_option("--discovery-port", discovery_port, "UDP port of LAN discovery")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  command.add_option("--discovery-interface", discovery_interfaces,
                     "Interface (name or IPv4 address) to probe on (repeatable); default: every interface "
                     "that is up, loopback excepted");
  command.add_option("--wait-ms", wait_ms, "How long to wait for answers to a LAN probe")
      ->capture_default_str()
      ->check(CLI::Range(0L, kMaxDiscoveryWaitMs));
  command.add_option("--timeout", timeout_seconds, "Seconds to wait for a connection or an answer")
      ->capture_default_str()
      ->check(seconds_validator(kMaxClientTimeoutSeconds));
  http_option.add_to(command,
                     "The local node's HTTP API: if the node there runs on this data dir, the command goes "
                     "through it; otherwise it is asked where a node is when the LAN does not say");
}

// ------------------------------------------------------------------ discover

DiscoverCommand::DiscoverCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global), command_(app.add_subcommand("discover", "Find nodes on the LAN (and --bootstrap peers)")) {
  network_.add_to(*command_);
}

int DiscoverCommand::run() const {
  if (network_.no_discovery && network_.bootstrap.empty())
    return fail(ExitCode::kUsage, "discover: --no-discovery leaves nothing to do without --bootstrap");
  auto session = open_session(global_, for_this_run(network_, global_), true);
  if (!session) return fail("discover", session.error());
  auto nodes = (*session)->discover();
  if (!nodes) return fail("discover", nodes.error());
  if (global_.json) std::cout << json_text(*nodes) << '\n';
  else print_nodes(*nodes, "no nodes found");
  return static_cast<int>(ExitCode::kOk);
}

// ------------------------------------------------------------------ schemas

SchemasCommand::SchemasCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global), command_(app.add_subcommand("schemas", "List the schemas a node lets this identity read")) {
  command_->add_option("node", node_, "Node id, unique id prefix, or HOST:PORT")->required();
  network_.add_to(*command_);
}

int SchemasCommand::run() const {
  if (auto checked = check_reference(node_); !checked) return fail("schemas", checked.error());
  // A node named by address needs no LAN probe to be found.
  auto session = open_session(global_, for_this_run(network_, global_), !is_address(node_));
  if (!session) return fail("schemas", session.error());
  auto schemas = (*session)->schemas(node_);
  if (!schemas) return fail("schemas", schemas.error());
  if (global_.json) std::cout << json_text(*schemas) << '\n';
  else print_schemas(*schemas);
  return static_cast<int>(ExitCode::kOk);
}

// ------------------------------------------------------------------ query

QueryCommand::QueryCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global),
      command_(app.add_subcommand("query", "Read fields of a schema from a node, as far as it trusts this identity")) {
  command_->add_option("node", node_, "Node id, unique id prefix, or HOST:PORT")->required();
  command_->add_option("schema", schema_, "Schema name")->required();
  command_->add_option("fields", fields_, "Fields to read")->required();
  command_->add_option("--filter", filter_,
                       R"(JSON filter: field equalities '{"username": "alice"}', or fold_db's '{"field": "age", "operator": "gt", "value": 25}')");
  command_->add_option("--limit", limit_, "At most this many rows; if more match, the answer ends with a cursor");
  command_->add_option("--cursor", cursor_, "Continue after an earlier answer: the cursor it ended with");
  network_.add_to(*command_);
}

int QueryCommand::run() const {
  net::Query query;
  query.schema_name = schema_;
  query.fields = fields_;
  if (!filter_.empty()) {
    Json filter;
    try {
      filter = Json::parse(filter_);
    } catch (const Json::parse_error& e) {
      // what() is "[json.exception.parse_error.101] parse error at line 1, column 5: …".
      std::string_view why = e.what();
      if (const auto end = why.find("] "); end != std::string_view::npos) why.remove_prefix(end + 2);
      return fail(ExitCode::kUsage, "query: --filter is not valid JSON: " + std::string(why));
    }
    if (!filter.is_object())
      return fail(ExitCode::kUsage, "query: --filter must be a JSON object such as {\"field\": value}, not " +
                                        std::string(filter.is_array() ? "an " : "a ") + filter.type_name());
    query.filter = std::move(filter);
  }
  query.limit = limit_;
  if (!cursor_.empty()) {
    auto cursor = cursor_from_text(cursor_);
    if (!cursor) return fail(ExitCode::kUsage, "query: --cursor must be the hex text an earlier answer ended with");
    query.cursor = std::move(*cursor);
  }
  if (auto checked = check_reference(node_); !checked) return fail("query", checked.error());

  auto session = open_session(global_, for_this_run(network_, global_), !is_address(node_));
  if (!session) return fail("query", session.error());
  // Rows are printed as they arrive; --json joins them into one document first.
  QueryPrinter printer;
  Json joined;
  bool malformed = false;
  auto result = (*session)->query_in_parts(node_, std::move(query), [&](const Json& part) {
    if (malformed || !part.is_object() || !part.contains("results") || !part["results"].is_array()) {
      malformed = true;
      return;
    }
    if (global_.json) join_answer(joined, part);
    else printer.part(part);
  });
  if (!result) return fail("query", result.error());
  if (malformed) return fail(ExitCode::kRuntime, "query: the node's answer has no results");
  if (global_.json) {
    joined["node_id"] = result->value("node_id", "");
    joined["schema"] = schema_;
    std::cout << json_text(joined) << '\n';
  } else {
    printer.finish();
  }
  return static_cast<int>(ExitCode::kOk);
}

// ------------------------------------------------------------------ peers, status

PeersCommand::PeersCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global), command_(app.add_subcommand("peers", "List the nodes the local running node knows")) {
  http_.add_to(*command_, "The local node's HTTP API");
}

int PeersCommand::run() const {
  const auto http = http_.address(global_.data_dir);
  auto nodes = local_api_get(http, "/api/v1/network/nodes");
  if (!nodes) return fail("peers", nodes.error());
  // Below the nodes it knows, every other key the node has scored (a peer that only
  // ever dialled in, a banned attacker), so nobody it refuses is out of sight.
  if (auto scored = local_api_get(http, "/api/v1/reputation"); scored && nodes->is_array()) {
    std::set<std::string> listed;
    for (const auto& node : *nodes) listed.insert(node.value("node_id", ""));
    for (const auto& entry : scored->value("entries", Json::array())) {
      if (entry.value("kind", "") != "node" || listed.count(entry.value("subject", ""))) continue;
      nodes->push_back({{"node_id", entry.value("subject", "")},
                        {"addresses", Json::array()},
                        {"health", "unknown"},
                        {"trust_distance", nullptr},
                        {"last_seen_ms", nullptr},
                        {"known", false},
                        {"reputation", {{"score", entry.value("score", 0.0)}, {"state", entry.value("state", "")}}}});
    }
  }
  if (global_.json) std::cout << json_text(*nodes) << '\n';
  else print_nodes(*nodes, "the node knows no other nodes");
  return static_cast<int>(ExitCode::kOk);
}

StatusCommand::StatusCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global), command_(app.add_subcommand("status", "Show the local running node's state and counters")) {
  http_.add_to(*command_, "The local node's HTTP API");
}

int StatusCommand::run() const {
  auto status = local_api_get(http_.address(global_.data_dir), "/api/v1/network/status");
  if (!status) return fail("status", status.error());
  if (global_.json) {
    std::cout << json_text(*status) << '\n';
    return static_cast<int>(ExitCode::kOk);
  }
  const auto& s = *status;
  const auto stats = s.value("stats", Json::object());
  auto number = [](const Json& object, const char* key) { return cell(object.value(key, Json(0))); };
  // Bytes as MiB with one decimal: the budget's scale.
  auto mib = [](const Json& object, const char* key) {
    const auto value = object.value(key, Json(0));
    const double bytes = value.is_number() ? value.get<double>() : 0.0;
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", bytes / (1024.0 * 1024.0));
    return std::string(text);
  };
  const bool running = s.value("running", false);
  const auto discovery = s.value("discovery", Json());
  const auto dht = s.value("dht", Json());
  const auto mapping = s.value("port_mapping", Json());
  const auto reach = s.value("reachability", Json());
  auto reach_row = [&]() -> std::string {
    if (!reach.is_object()) return "unknown";
    std::string row = reach.value("status", std::string("unknown"));
    const auto at = reach.value("reachable_addresses", Json::array());
    if (at.is_array() && !at.empty()) row += " at " + at.front().get<std::string>();
    const auto relayed = reach.value("relayed_addresses", Json::array());
    if (relayed.is_array() && !relayed.empty()) row += "; reserved at " + std::to_string(relayed.size()) + " relay(s)";
    return row;
  };
  auto relaying_row = [&]() -> std::string {
    const auto relay = reach.is_object() ? reach.value("relay", Json()) : Json();
    if (!relay.is_object() || !relay.value("enabled", false)) return "off";
    const auto limits = relay.value("limits", Json::object());
    return number(relay, "reservations") + " of " + number(limits, "max_reservations") + " reservations, " +
           number(relay, "circuits_running") + " of " + number(limits, "max_circuits") + " circuits, " +
           number(relay, "bytes_relayed") + " bytes relayed";
  };
  auto mapping_row = [&]() -> std::string {
    if (!mapping.is_object()) return "unknown";
    if (mapping.value("active", false)) {
      std::string row = mapping.value("external_address", std::string()) + " by " +
                        mapping.value("protocol", std::string());
      const auto expiry = mapping.value("lease_expiry_ms", Json());
      if (expiry.is_number()) {
        const auto left = (expiry.get<std::int64_t>() -
                           std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count()) / 1000;
        row += ", lease ends in " + std::to_string(std::max<std::int64_t>(left, 0)) + " s";
      } else {
        row += ", lease without end";
      }
      return row;
    }
    if (!mapping.value("enabled", false)) return "off";
    const auto why = mapping.value("last_error", Json());
    return why.is_string() ? "none: " + why.get<std::string>() : "none yet (asking the gateway)";
  };
  auto reputation_row = [&]() -> std::string {
    const auto reputation = s.value("reputation", Json());
    if (!reputation.is_object()) return "unknown";
    const auto subjects = reputation.value("subjects", Json::object());
    return number(subjects, "banned") + " banned, " + number(subjects, "avoided") + " avoided, " +
           number(subjects, "would-be-banned") + " trusted past the ban threshold; " +
           number(reputation, "refused_banned") + " refused for a ban";
  };
  const std::vector<std::vector<std::string>> rows{
      {"public key", cell(s.value("public_key", Json()))},
      {"running", running ? "yes, listening on port " + number(s, "listen_port") : "no"},
      {"nodes", number(s, "connected_nodes") + " connected, " + number(s, "known_nodes") + " known"},
      {"connections", number(stats, "open_connections") + " open, " + number(stats, "inbound_accepted") +
                          " accepted, " + number(stats, "outbound_dialled") + " dialled, " +
                          number(stats, "handshake_failures") + " failed handshakes"},
      {"requests", number(stats, "requests_received") + " received, " + number(stats, "requests_sent") + " sent, " +
                       number(stats, "requests_failed") + " failed"},
      {"memory", mib(stats, "memory_in_use_bytes") + " of " + mib(stats, "memory_budget_bytes") +
                     " MiB budget in use (peak " + mib(stats, "memory_peak_bytes") + "), " +
                     number(stats, "connections_closed_over_budget") + " peers closed over it"},
      {"discovery", discovery.is_object() ? number(discovery, "datagrams_sent") + " datagrams sent, " +
                                                number(discovery, "datagrams_accepted") + " accepted, " +
                                                number(discovery, "datagrams_ignored") + " ignored"
                                          : "off"},
      {"dht", dht.is_object() ? "UDP port " + number(dht, "port") + ", " + number(dht, "routing_table_nodes") +
                                    " nodes in its routing table, " + number(dht, "lookups") + " lookups (" +
                                    number(dht, "lookups_failed") + " failed), " + number(dht, "values_accepted") +
                                    " values believed"
                              : "off"},
      {"mapping", mapping_row()},  // the port mapping on the gateway; the label fits the column
      {"reachable", reach_row()},
      {"relaying", relaying_row()},
      {"reputation", reputation_row()},
  };
  print_table(std::cout, {"node id", cell(s.value("node_id", Json()))}, rows);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace datafold::app
