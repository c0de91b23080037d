// The node's data directory: where it is by default and what lives in it.
#pragma once

#include <filesystem>
#include <optional>

#include <datafold/net/error.hpp>

namespace datafold::app {

// $XDG_DATA_HOME/datafold, else ~/.local/share/datafold (the XDG base directory rules:
// a relative XDG_DATA_HOME is ignored). nullopt when neither variable is usable.
std::optional<std::filesystem::path> default_data_dir();

// The node's key pair inside `data_dir`.
std::filesystem::path identity_path(const std::filesystem::path& data_dir);

// The node's SQLite database (schemas, rows, read policies).
std::filesystem::path database_path(const std::filesystem::path& data_dir);

// The node's trust store: public key -> trust distance.
std::filesystem::path trust_store_path(const std::filesystem::path& data_dir);
// What the node thinks of its peers (scores and bans), kept across restarts.
std::filesystem::path reputation_path(const std::filesystem::path& data_dir);

// Creates `data_dir` (mode 0700: it holds the private key) if it does not exist.
// Config error if it cannot be created or is not a directory.
net::NetworkResult<void> ensure_data_dir(const std::filesystem::path& data_dir);

}  // namespace datafold::app
