#include "identity_commands.hpp"

#include <iostream>
#include <system_error>

#include <datafold/net/identity.hpp>
#include <nlohmann/json.hpp>

#include "data_dir.hpp"
#include "exit_code.hpp"

namespace datafold::app {

namespace {

void print_identity(const net::Identity& identity, const std::filesystem::path& path, bool json) {
  if (json) {
    nlohmann::json out = {{"node_id", identity.node_id().to_string()},
                          {"public_key", identity.public_key().to_string()},
                          {"key_file", path.string()}};
    std::cout << out.dump() << '\n';
  } else {
    std::cout << identity.node_id().to_string() << '\n';
  }
}

}  // namespace

IdCommand::IdCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global),
      command_(app.add_subcommand("id", "Print this node's id (creates its key if there is none)")) {}

int IdCommand::run() const {
  if (auto made = ensure_data_dir(global_.data_dir); !made) return fail("id", made.error());
  const auto path = identity_path(global_.data_dir);
  auto identity = net::Identity::load_or_create(path);
  if (!identity) return fail("id", identity.error());
  print_identity(*identity, path, global_.json);
  return static_cast<int>(ExitCode::kOk);
}

KeygenCommand::KeygenCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global),
      command_(app.add_subcommand("keygen", "Create a new identity (key pair) in the data dir")) {
  command_->add_flag("--force", force_, "Replace an existing identity (its node id is lost)");
}

int KeygenCommand::run() const {
  if (auto made = ensure_data_dir(global_.data_dir); !made) return fail("keygen", made.error());
  const auto path = identity_path(global_.data_dir);
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (ec) return fail(ExitCode::kUsage, "keygen: cannot access " + path.string() + ": " + ec.message());

  if (!exists) {
    // Creates without clobbering, so a key another process wrote meanwhile survives.
    auto identity = net::Identity::load_or_create(path);
    if (!identity) return fail("keygen", identity.error());
    print_identity(*identity, path, global_.json);
    return static_cast<int>(ExitCode::kOk);
  }
  if (!force_) {
    return fail(ExitCode::kUsage, "keygen: " + path.string() +
                                      " already exists; use --force to replace it (the node id changes)");
  }
  auto identity = net::Identity::generate();
  if (!identity) return fail("keygen", identity.error());
  // save() writes a temp file and renames it over the old key: never half a key on disk.
  if (auto saved = identity->save(path); !saved) return fail("keygen", saved.error());
  print_identity(*identity, path, global_.json);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace datafold::app
