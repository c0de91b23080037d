// Replays inputs through a fuzzer's LLVMFuzzerTestOneInput without libFuzzer, so the
// ordinary build runs every seed and every crash input ever found as a CTest test
// (label `fuzz`): a regression shows on every run, not only in the clang fuzz step.
//
//   <name>_replay PATH...   each PATH a file, or a directory whose files are replayed
//                           (recursively, in name order; hidden files skipped)
//
// A broken invariant aborts, as it does under libFuzzer; the input being replayed is
// named on stderr first. Exits 1 when a path is missing or no input was found at all, so
// a corpus that went astray cannot pass by replaying nothing.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// The input in progress, for the crash report: a signal handler may only write(2).
const char* current_input = nullptr;

void name_the_input(int signal_number) {
  if (current_input != nullptr) {
    constexpr const char kPrefix[] = "fuzz replay: crashed on input ";
    (void)!::write(STDERR_FILENO, kPrefix, sizeof kPrefix - 1);
    (void)!::write(STDERR_FILENO, current_input, std::strlen(current_input));
    (void)!::write(STDERR_FILENO, "\n", 1);
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

bool hidden(const fs::path& path) { return path.filename().string().starts_with("."); }

// Appends the files `path` names; false when it names nothing that exists.
bool collect(const fs::path& path, std::vector<fs::path>& inputs) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    inputs.push_back(path);
    return true;
  }
  if (!fs::is_directory(path, ec)) return false;
  std::vector<fs::path> found;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) found.push_back(it->path());
  }
  if (ec) return false;
  std::sort(found.begin(), found.end());
  inputs.insert(inputs.end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!collect(argv[i], inputs)) {
      std::cerr << "fuzz replay: no such file or directory: " << argv[i] << '\n';
      return 1;
    }
  }
  if (inputs.empty()) {
    std::cerr << "fuzz replay: no inputs (usage: " << argv[0] << " FILE_OR_DIR...)\n";
    return 1;
  }
  for (int s : {SIGABRT, SIGSEGV, SIGILL, SIGFPE, SIGBUS}) std::signal(s, name_the_input);

  for (const auto& input : inputs) {
    std::ifstream in(input, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::cerr << "fuzz replay: cannot read " << input.string() << '\n';
      return 1;
    }
    // A buffer of exactly the input's size, as libFuzzer gives: a read past its end is
    // then a heap overflow a sanitizer build reports.
    auto data = std::make_unique<std::uint8_t[]>(bytes.size());
    std::memcpy(data.get(), bytes.data(), bytes.size());
    const std::string name = input.string();
    current_input = name.c_str();
    (void)LLVMFuzzerTestOneInput(data.get(), bytes.size());
    current_input = nullptr;
  }
  std::cout << "replayed " << inputs.size() << " inputs\n";
  return 0;
}
