#include "cli/cli_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/child_process.hpp"

namespace datafold::cli_test {

namespace {

using Clock = std::chrono::steady_clock;

// argv for execv: the binary, then `args`.
std::vector<char*> make_argv(std::vector<std::string>& storage) {
  std::vector<char*> argv;
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return argv;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::uint16_t free_port(int type) {
  const int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("bind: " + std::string(std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

std::string RunResult::error_line() const {
  std::string last;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) last = line;
  return last;
}

RunResult run_datafold(const std::vector<std::string>& args, const std::string& input,
                       std::chrono::milliseconds deadline) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  std::vector<std::string> storage{DATAFOLD_BINARY};
  storage.insert(storage.end(), args.begin(), args.end());
  auto argv = make_argv(storage);

  const pid_t test_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    net::testing::die_with_test(test_pid);
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  // A child that exits without reading its stdin must not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);

  RunResult result;
  int in_fd = in_pipe[1];
  std::size_t written = 0;
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  } else {
    set_nonblocking(in_fd);
  }
  const auto until = Clock::now() + deadline;
  int open_outputs = 2;
  std::array<char, 65536> buffer{};
  while (open_outputs > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    std::vector<pollfd> fds;
    if (out_pipe[0] >= 0) fds.push_back({out_pipe[0], POLLIN, 0});
    if (err_pipe[0] >= 0) fds.push_back({err_pipe[0], POLLIN, 0});
    if (in_fd >= 0) fds.push_back({in_fd, POLLOUT, 0});
    if (::poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) break;
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == in_fd) {
        const auto n = ::write(in_fd, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 || written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      const auto n = ::read(p.fd, buffer.data(), buffer.size());
      if (n > 0) {
        (p.fd == out_pipe[0] ? result.out : result.err).append(buffer.data(), static_cast<std::size_t>(n));
      } else {
        ::close(p.fd);
        (p.fd == out_pipe[0] ? out_pipe[0] : err_pipe[0]) = -1;
        --open_outputs;
      }
    }
  }
  for (int fd : {in_fd, out_pipe[0], err_pipe[0]})
    if (fd >= 0) ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) && !result.timed_out ? WEXITSTATUS(status) : -1;
  return result;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "datafold-cli-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  const auto file = path_ / name;
  std::ofstream out(file, std::ios::binary);
  out << text;
  return file.string();
}

std::uint16_t free_udp_port() { return free_port(SOCK_DGRAM); }
std::uint16_t free_tcp_port() { return free_port(SOCK_STREAM); }

std::string unique_network_name() {
  std::random_device random;
  return "cli-test-" + std::to_string(random()) + std::to_string(random());
}

net::Json parse_json(const std::string& text) { return net::Json::parse(text, nullptr, false); }

std::unique_ptr<NodeProcess> NodeProcess::start(const std::string& data_dir, const std::vector<std::string>& args,
                                                std::string* failure) {
  std::filesystem::create_directories(data_dir);
  const std::string out_path = data_dir + "/node.out";
  const std::string err_path = data_dir + "/node.err";
  // A node started before on this data dir left its lines there: gone before the new
  // one starts, or they would be read as the new one's (its id, its old ports).
  std::error_code ignored;
  std::filesystem::remove(out_path, ignored);
  std::filesystem::remove(err_path, ignored);
  // No port mapping: these nodes run on this machine's own network, whose gateway
  // is not the test's to touch.
  // --http from `args` when they give it (CLI11 refuses an option given twice).
  const bool own_http = std::find(args.begin(), args.end(), "--http") != args.end();
  std::vector<std::string> storage{DATAFOLD_BINARY, "--data-dir", data_dir, "node", "--listen", "127.0.0.1:0",
                                   "--no-port-mapping"};
  if (!own_http) storage.insert(storage.end(), {"--http", "127.0.0.1:0"});
  storage.insert(storage.end(), args.begin(), args.end());
  auto argv = make_argv(storage);

  const pid_t test_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    net::testing::die_with_test(test_pid);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int null = ::open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || null < 0) ::_exit(126);
    ::dup2(null, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  std::unique_ptr<NodeProcess> node(new NodeProcess(data_dir, pid));

  // The id and address come on stdout, the HTTP port in the log on stderr.
  static const std::regex kListening(R"re(node ([a-z2-7]{52}) listening on (\S+))re");
  static const std::regex kJsonListening(R"re(\{"address":"([^"]+)","event":"listening","node_id":"([a-z2-7]{52})"\})re");
  static const std::regex kHttp(R"re(HTTP API on (\S+))re");
  const bool http_off = [&] {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "--http" && args[i + 1] == "off") return true;
    return false;
  }();
  const bool ready = eventually(
      [&] {
        if (!node->running()) return true;
        std::smatch match;
        const auto out = read_file(out_path);
        if (node->node_id_.empty()) {
          if (std::regex_search(out, match, kListening)) {
            node->node_id_ = match[1];
            node->address_ = match[2];
          } else if (std::regex_search(out, match, kJsonListening)) {
            node->address_ = match[1];
            node->node_id_ = match[2];
          }
        }
        if (node->http_.empty() && !http_off) {
          const auto err = read_file(err_path);
          if (std::regex_search(err, match, kHttp)) node->http_ = match[1];
        }
        return !node->node_id_.empty() && (http_off || !node->http_.empty());
      },
      30s);
  if (!ready || !node->running()) {
    if (failure) *failure = "node did not start: " + node->log();
    return nullptr;
  }
  return node;
}

NodeProcess::~NodeProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::uint16_t NodeProcess::http_port() const {
  const auto colon = http_.rfind(':');
  return colon == std::string::npos ? 0 : static_cast<std::uint16_t>(std::stoi(http_.substr(colon + 1)));
}

void NodeProcess::reap(int status) { exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

bool NodeProcess::running() {
  if (exit_code_) return false;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    reap(status);
    return false;
  }
  return true;
}

int NodeProcess::stop(std::chrono::milliseconds deadline) {
  if (!running()) return *exit_code_;
  ::kill(pid_, SIGTERM);
  if (!eventually([&] { return !running(); }, deadline)) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = -1;
  }
  return *exit_code_;
}

void NodeProcess::crash() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_code_ = -1;
}

std::string NodeProcess::log() const {
  return "--- stdout:\n" + read_file(data_dir_ + "/node.out") + "--- stderr:\n" + read_file(data_dir_ + "/node.err");
}

}  // namespace datafold::cli_test
