// `datafold schema add FILE`, `datafold schema list`, `datafold insert SCHEMA FILE|-`:
// the data dir's SQLite store, opened directly. They work while the node runs: the node
// reads SQLite afresh for every request, so it serves the change at once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "global_options.hpp"

namespace datafold::app {

// `datafold schema add FILE|-` (fold_db's schema JSON in any of its formats; a schema of
// the same name is replaced, its rows kept; what the node does not enforce is warned
// about on stderr), `datafold schema list` and `datafold schema show NAME`.
class SchemaCommand {
 public:
  SchemaCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  int run_add() const;
  int run_list() const;
  int run_show() const;

  const GlobalOptions& global_;
  CLI::App* command_;
  CLI::App* add_;
  CLI::App* list_;
  CLI::App* show_;
  std::string file_;
  std::string name_;
};

// `datafold insert SCHEMA FILE|-`: rows, one JSON object or an array of them;
// `datafold insert FILE|-`: fold_db mutation documents (store/mutation.hpp). All or nothing.
class InsertCommand {
 public:
  InsertCommand(CLI::App& app, const GlobalOptions& global);
  bool selected() const { return command_->parsed(); }
  int run() const;

 private:
  // Applies the mutation documents in `text` (read from `file`); with `schema`, each
  // must be for it.
  int apply(const std::string& file, const std::string& text, const std::optional<std::string>& schema) const;

  const GlobalOptions& global_;
  CLI::App* command_;
  std::vector<std::string> args_;  // [SCHEMA] FILE
};

}  // namespace datafold::app
