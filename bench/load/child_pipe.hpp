// Lines over a pipe between a bench and the node it runs in a child process: the
// child reports (its port, its figures) with write_line; the parent reads with a
// deadline, so a child that hangs or dies fails the bench instead of blocking it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace datafold::bench {

// Writes `line` and a newline to `fd`; a failed write is ignored (the reader's
// deadline reports it).
void write_line(int fd, const std::string& line);

// The next line from `fd` (without its newline); nullopt at end of file, on an error,
// or when no whole line came within `deadline`.
std::optional<std::string> read_line(int fd, std::chrono::milliseconds deadline);

}  // namespace datafold::bench
