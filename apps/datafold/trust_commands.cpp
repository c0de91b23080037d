#include "trust_commands.hpp"

#include <charconv>
#include <iostream>
#include <limits>
#include <optional>
#include <vector>

#include <datafold/net/trust_store.hpp>
#include <nlohmann/json.hpp>

#include "client_commands.hpp"
#include "data_dir.hpp"
#include "exit_code.hpp"
#include "json_views.hpp"
#include "running_node.hpp"
#include "trust_key_lookup.hpp"

namespace datafold::app {

namespace {

using net::Json;

// The key `text` names: a public key as it is, or a node id (or unique prefix) looked up
// first among the keys the store already holds, then among the nodes the running node
// has met, which the node at `http` is asked for (trust_key_lookup.hpp). Config error
// saying what to give instead.
net::NetworkResult<net::PublicKey> resolve_key(const std::string& text, const net::TrustStore& store,
                                               const std::string& http) {
  if (auto settled = resolve_trust_key_in_store(text, store)) return std::move(*settled);

  if (http == "off")
    return net::make_error(net::ErrorKind::Config,
                           "node '" + text + "' is not in the trust store and --http is off; " + kTrustKeyHint);
  auto nodes = local_api_get(http, "/api/v1/network/nodes");
  if (!nodes)
    return net::make_error(net::ErrorKind::Config, "cannot look up the key of node '" + text + "': " +
                                                       nodes.error().message + "; " + kTrustKeyHint);
  std::vector<net::PublicKey> met;
  if (nodes->is_array()) {
    for (const auto& node : *nodes) {
      const auto id = node.value("node_id", "");
      const auto key_text = node.value("public_key", Json());
      if (!key_text.is_string()) continue;
      auto key = net::PublicKey::from_string(key_text.get<std::string>());
      // The id must be the key's: the list comes from another process, so check it.
      if (key && key->node_id().to_string() == id) met.push_back(*key);
    }
  }
  return resolve_trust_key(text, store, met, "known to the node at " + http);
}

// Asks the node running on `data_dir`, if one does, to re-read the trust store now, so a
// change just written holds for its very next query. True when it did; false when no
// node runs there (it reads the file when it starts) or, with a warning on stderr saying
// when the change will hold, when it could not be asked.
bool apply_to_running_node(const std::filesystem::path& data_dir, const std::string& context) {
  const auto node = find_running_node(data_dir);
  if (!node) return false;
  const std::string later = " it applies the change within " +
                            std::to_string(net::TrustStore::kReloadInterval.count()) +
                            " ms, when it next looks at the file";
  if (!node->published) {
    std::cerr << "datafold: warning: " << context << ": the node on this data dir (" << node->describe() << ");"
              << later << '\n';
    return false;
  }
  if (!node->http) {
    std::cerr << "datafold: warning: " << context << ": the node running on this data dir (" << node->describe()
              << ") serves no HTTP API to tell;" << later << '\n';
    return false;
  }
  if (auto reloaded = local_api_post(*node->http, "/api/v1/trust/reload", Json::object()); !reloaded) {
    std::cerr << "datafold: warning: " << context << ": cannot tell the node running on this data dir ("
              << node->describe() << "): " << reloaded.error().message << ";" << later << '\n';
    return false;
  }
  return true;
}

}  // namespace

TrustCommand::TrustCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global),
      command_(app.add_subcommand("trust", "Set, remove or list the trust distances this node gives other keys")) {
  // At most one; none is reported by run() with the choices, which CLI11's message lacks.
  command_->require_subcommand(0, 1);
  set_ = command_->add_subcommand("set", "Trust a key at a distance (0 = as this node itself; lower = more trusted)");
  set_->add_option("node", target_, "NODE_ID (or unique prefix) or PUBKEY (base64)")->required();
  set_->add_option("distance", distance_, "Trust distance, 0..4294967295")->required();
  set_->add_option("--note", note_, "Free text kept with the entry (who this is)");
  set_->add_option("--name", name_,
                   "What schemas' allow-lists call this key (e.g. trusted_service_key); \"\" clears it");
  http_.add_to(*set_, "The local node's HTTP API, asked for the key of a NODE_ID");

  remove_ = command_->add_subcommand("remove", "Forget a key: it is treated as unknown again");
  remove_->add_option("node", target_, "NODE_ID (or unique prefix) or PUBKEY (base64)")->required();
  http_.add_to(*remove_, "The local node's HTTP API, asked for the key of a NODE_ID");

  list_ = command_->add_subcommand("list", "List the trusted keys and their distances");
}

int TrustCommand::run() const {
  if (set_->parsed()) return run_set();
  if (remove_->parsed()) return run_remove();
  if (list_->parsed()) return run_list();
  return fail(ExitCode::kUsage, "trust: give a sub-command: set, remove or list (see datafold trust --help)");
}

int TrustCommand::run_set() const {
  std::uint32_t distance = 0;
  const auto* end = distance_.data() + distance_.size();
  if (auto [stop, ec] = std::from_chars(distance_.data(), end, distance); ec != std::errc{} || stop != end)
    return fail(ExitCode::kUsage, "trust set: distance '" + distance_ + "' is not a whole number 0..4294967295");

  if (auto made = ensure_data_dir(global_.data_dir); !made) return fail("trust set", made.error());
  auto store = net::TrustStore::open(trust_store_path(global_.data_dir));
  if (!store) return fail("trust set", store.error());
  auto key = resolve_key(target_, *store, http_.address(global_.data_dir));
  if (!key) return fail("trust set", key.error());
  std::optional<std::string> note;
  if (set_->count("--note") > 0) note = note_;
  std::optional<std::string> name;
  if (set_->count("--name") > 0) name = name_;
  if (auto saved = store->set(*key, distance, note, name); !saved) return fail("trust set", saved.error());

  net::TrustEntry stored{*key, distance, {}};
  for (const auto& entry : store->entries())
    if (entry.public_key == *key) stored = entry;
  const bool applied = apply_to_running_node(global_.data_dir, "trust set");
  if (global_.json) {
    std::cout << json_text(to_json(stored)) << '\n';
  } else {
    std::cout << "trusting node " << key->node_id().short_string() << " (key " << key->to_string()
              << ") at distance " << distance << (stored.name.empty() ? "" : ", named " + stored.name)
              << (applied ? "; the running node applies it from its next query" : "") << '\n';
  }
  return static_cast<int>(ExitCode::kOk);
}

int TrustCommand::run_remove() const {
  if (auto made = ensure_data_dir(global_.data_dir); !made) return fail("trust remove", made.error());
  auto store = net::TrustStore::open(trust_store_path(global_.data_dir));
  if (!store) return fail("trust remove", store.error());
  auto key = resolve_key(target_, *store, http_.address(global_.data_dir));
  if (!key) return fail("trust remove", key.error());
  auto removed = store->remove(*key);
  if (!removed) return fail("trust remove", removed.error());
  if (!*removed)
    return fail(ExitCode::kRuntime, "trust remove: node " + key->node_id().short_string() + " (key " +
                                        key->to_string() + ") is not in the trust store");
  const bool applied = apply_to_running_node(global_.data_dir, "trust remove");
  if (global_.json) {
    std::cout << json_text(Json{
                     {"node_id", key->node_id().to_string()}, {"public_key", key->to_string()}, {"removed", true}})
              << '\n';
  } else {
    std::cout << "removed node " << key->node_id().short_string() << " (key " << key->to_string()
              << "): it is unknown again" << (applied ? ", from the running node's next query" : "") << '\n';
  }
  return static_cast<int>(ExitCode::kOk);
}

int TrustCommand::run_list() const {
  // Reading needs no data dir to be made: a missing file is an empty store.
  auto store = net::TrustStore::open(trust_store_path(global_.data_dir));
  if (!store) return fail("trust list", store.error());
  const auto entries = store->entries();
  if (global_.json) {
    Json out = Json::array();
    for (const auto& entry : entries) out.push_back(to_json(entry));
    std::cout << json_text(out) << '\n';
    return static_cast<int>(ExitCode::kOk);
  }
  if (entries.empty()) {
    std::cout << "the trust store is empty: every other node is unknown\n";
    return static_cast<int>(ExitCode::kOk);
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& entry : entries)
    rows.push_back({entry.public_key.node_id().short_string(), entry.public_key.to_string(),
                    std::to_string(entry.distance), entry.name, entry.note});
  print_table(std::cout, {"NODE", "PUBLIC KEY", "DISTANCE", "NAME", "NOTE"}, rows);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace datafold::app
