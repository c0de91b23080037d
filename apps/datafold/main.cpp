// datafold: runs a DataFold node and the tools around it.
//
//   datafold [--data-dir DIR] [--json] [--log-level LEVEL] <sub-command> [options]
//   datafold --version
//
// Sub-commands: id, keygen, node, discover, peers, schemas, query, trust, reputation, status,
// schema, insert, bench (docs/OPERATIONS.md describes each).
//
// Global options may come before or after the sub-command. Exit codes: 0 ok, 1 the
// command failed at run time (network, peer), 2 bad usage or configuration.

#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "bench_command.hpp"
#include "client_commands.hpp"
#include "data_dir.hpp"
#include "exit_code.hpp"
#include "global_options.hpp"
#include "identity_commands.hpp"
#include "lookup_command.hpp"
#include "logging.hpp"
#include "node_command.hpp"
#include "store_commands.hpp"
#include "reputation_commands.hpp"
#include "trust_commands.hpp"

namespace {

using datafold::app::ExitCode;
using datafold::app::fail;

int run(int argc, char** argv) {
  datafold::app::GlobalOptions global;
  CLI::App app{"DataFold network node and tools", "datafold"};
  // Global options are the top-level app's; a sub-command passes on what it does not
  // know, so `datafold --json id` and `datafold id --json` mean the same.
  app.fallthrough();
  app.require_subcommand(1);
  // DATAFOLD_VERSION is the project's version (apps/datafold/CMakeLists.txt); the flag
  // answers before the sub-command is required, like --help.
  app.set_version_flag("--version", "datafold " DATAFOLD_VERSION);
  app.add_option("--data-dir", global.data_dir,
                 "Node data directory (identity, trust store, database); "
                 "default $XDG_DATA_HOME/datafold or ~/.local/share/datafold");
  app.add_flag("--json", global.json, "Machine-readable output on stdout");
  app.add_option("--log-level", global.log_level, "Log level (logs go to stderr)")
      ->check(CLI::IsMember(datafold::app::log_level_names()))
      ->capture_default_str();

  datafold::app::IdCommand id(app, global);
  datafold::app::KeygenCommand keygen(app, global);
  datafold::app::NodeCommand node(app, global);
  datafold::app::DiscoverCommand discover(app, global);
  datafold::app::PeersCommand peers(app, global);
  datafold::app::SchemasCommand schemas(app, global);
  datafold::app::QueryCommand query(app, global);
  datafold::app::TrustCommand trust(app, global);
  datafold::app::ReputationCommand reputation(app, global);
  datafold::app::StatusCommand status(app, global);
  datafold::app::LookupCommand lookup(app, global);
  datafold::app::SchemaCommand schema(app, global);
  datafold::app::InsertCommand insert(app, global);
  datafold::app::BenchCommand bench(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and friends "fail" with exit code 0 and print what was asked for.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    // `datafold frob` would otherwise be told only that a sub-command is required.
    if (const auto extra = app.remaining(); !app.get_subcommands().empty() || extra.empty())
      return fail(ExitCode::kUsage, std::string(e.what()) + " (see datafold --help)");
    else
      return fail(ExitCode::kUsage, "unknown sub-command '" + extra.front() + "' (see datafold --help)");
  }

  datafold::app::init_logging(global.log_level);
  if (global.data_dir.empty()) {
    auto dir = datafold::app::default_data_dir();
    if (!dir) return fail(ExitCode::kUsage, "no data dir: set --data-dir, XDG_DATA_HOME or HOME");
    global.data_dir = *dir;
  }

  if (id.selected()) return id.run();
  if (keygen.selected()) return keygen.run();
  if (node.selected()) return node.run();
  if (discover.selected()) return discover.run();
  if (peers.selected()) return peers.run();
  if (schemas.selected()) return schemas.run();
  if (query.selected()) return query.run();
  if (trust.selected()) return trust.run();
  if (reputation.selected()) return reputation.run();
  if (status.selected()) return status.run();
  if (lookup.selected()) return lookup.run();
  if (schema.selected()) return schema.run();
  if (insert.selected()) return insert.run();
  if (bench.selected()) return bench.run();
  return fail(ExitCode::kUsage, "no sub-command (see datafold --help)");
}

}  // namespace

int main(int argc, char** argv) {
  // Commands report expected failures as exit codes; this catches only the unexpected
  // (allocation failure, a bug), so the process still ends with one line, not abort().
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return fail(ExitCode::kRuntime, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(ExitCode::kRuntime, "internal error");
  }
}
