#include "data_dir.hpp"

#include <cstdlib>
#include <string>
#include <system_error>

namespace datafold::app {

namespace {

std::optional<std::filesystem::path> absolute_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  std::filesystem::path path(value);
  if (!path.is_absolute()) return std::nullopt;
  return path;
}

}  // namespace

std::optional<std::filesystem::path> default_data_dir() {
  if (auto xdg = absolute_env("XDG_DATA_HOME")) return *xdg / "datafold";
  if (auto home = absolute_env("HOME")) return *home / ".local" / "share" / "datafold";
  return std::nullopt;
}

std::filesystem::path database_path(const std::filesystem::path& data_dir) { return data_dir / "datafold.db"; }

std::filesystem::path trust_store_path(const std::filesystem::path& data_dir) { return data_dir / "trust.json"; }
std::filesystem::path reputation_path(const std::filesystem::path& data_dir) { return data_dir / "reputation"; }

std::filesystem::path identity_path(const std::filesystem::path& data_dir) {
  return data_dir / "identity.pem";
}

net::NetworkResult<void> ensure_data_dir(const std::filesystem::path& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(data_dir, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status))
      return net::make_error(net::ErrorKind::Config,
                             "data dir '" + data_dir.string() + "' is not a directory");
    return {};  // the operator's directory: leave its mode alone
  }
  fs::create_directories(data_dir, ec);
  if (!ec) fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec)
    return net::make_error(net::ErrorKind::Config,
                           "cannot create data dir '" + data_dir.string() + "': " + ec.message());
  return {};
}

}  // namespace datafold::app
