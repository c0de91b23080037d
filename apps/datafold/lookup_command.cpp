#include "lookup_command.hpp"

#include <chrono>
#include <iostream>

#include <datafold/net/node_id.hpp>

#include "exit_code.hpp"
#include "seconds_validator.hpp"

namespace datafold::app {

namespace {

std::string age_text(const net::Json& age_ms) {
  if (!age_ms.is_number_integer()) return "-";
  const auto ms = age_ms.get<std::int64_t>();
  if (ms < 0) return "in " + std::to_string(-ms / 1000) + "s (clock ahead)";
  const auto seconds = ms / 1000;
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds / 3600) + "h";
}

std::string addresses_text(const net::Json& addresses) {
  if (!addresses.is_array() || addresses.empty()) return "-";
  std::string out;
  for (const auto& address : addresses)
    if (address.is_string()) out += (out.empty() ? "" : " ") + address.get<std::string>();
  return out;
}

}  // namespace

LookupCommand::LookupCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global),
      command_(app.add_subcommand("lookup", "Show what the DHT holds for a node (asks the local running node)")) {
  command_->add_option("node", node_, "The node's whole id")->required();
  http_.add_to(*command_, "The local node's HTTP API");
  command_->add_option("--timeout", timeout_seconds_, "Seconds to wait for the DHT")
      ->capture_default_str()
      ->check(seconds_validator(600));
}

int LookupCommand::run() const {
  if (!net::NodeId::from_string(node_))
    return fail(ExitCode::kUsage, "lookup: '" + node_ + "' is not a whole node id (52 base32 characters)");
  if (!global_.json) std::cerr << "asking the DHT for " << node_.substr(0, 12) << "…\n";
  const auto timeout = std::chrono::milliseconds(static_cast<long>(timeout_seconds_ * 1000));
  auto records = local_api_get(http_.address(global_.data_dir), "/api/v1/dht/" + node_, timeout);
  if (!records) return fail("lookup", records.error());
  if (global_.json) {
    std::cout << json_text(*records) << '\n';
  } else if (!records->is_array() || records->empty()) {
    std::cout << "the DHT holds nothing for " << node_ << '\n';
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& record : *records) {
      const bool verified = record.value("verified", false);
      rows.push_back({verified ? "verified" : "ignored: " + record.value("why_not", std::string("?")),
                      addresses_text(record.value("addresses", net::Json())), age_text(record.value("age_ms", net::Json())),
                      record.contains("sequence") ? std::to_string(record.value("sequence", 0ull)) : "-"});
    }
    print_table(std::cout, {"VALUE", "ADDRESSES", "AGE", "SEQUENCE"}, rows);
  }
  // Nothing verified: the node cannot be found this way; scripts can tell.
  for (const auto& record : *records)
    if (record.value("verified", false)) return static_cast<int>(ExitCode::kOk);
  return static_cast<int>(ExitCode::kRuntime);
}

}  // namespace datafold::app
