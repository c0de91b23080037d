// What `datafold` exits with, and the one-line error it prints before exiting non-zero.
#pragma once

#include <string_view>

#include <datafold/net/error.hpp>

namespace datafold::app {

// Scripts branch on these, so each means one thing.
enum class ExitCode : int {
  kOk = 0,
  kRuntime = 1,  // the command was valid but failed: a peer, the network, the machine
  kUsage = 2,    // bad flags, bad config, a data dir or key file that cannot be used
};

// Config errors are the operator's to fix (usage); everything else happened at run time.
ExitCode exit_code_for(const net::NetworkError& error) noexcept;

// Prints "datafold: <message>" as one line on stderr and returns `code` as an int,
// so a command can end with `return fail(...)`.
int fail(ExitCode code, std::string_view message);
// As above with "<context>: <error message>" and the code exit_code_for() gives.
int fail(std::string_view context, const net::NetworkError& error);

}  // namespace datafold::app
