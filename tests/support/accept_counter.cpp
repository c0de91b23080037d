#include "support/accept_counter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "support/in_netns.hpp"

namespace datafold::net::testing {

namespace {

int open_listener(const std::string& ip, int port, std::string& why_not) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const bool v6 = ip.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) != 1) return why_not = "bad address " + ip, -1;
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, ip.c_str(), &a->sin_addr) != 1) return why_not = "bad address " + ip, -1;
    length = sizeof *a;
  }
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return why_not = std::string("socket: ") + std::strerror(errno), -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(fd, 64) != 0) {
    why_not = "bind/listen " + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::unique_ptr<AcceptCounter> AcceptCounter::start(const std::string& netns, const std::string& ip, int port,
                                                    std::string& why_not) {
  int fd = -1;
  // A socket stays in the namespace it was made in, whichever thread uses it later.
  if (netns.empty()) fd = open_listener(ip, port, why_not);
  else if (!run_in_netns(netns, [&] { fd = open_listener(ip, port, why_not); }, why_not)) return nullptr;
  if (fd < 0) return nullptr;
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    why_not = "pipe";
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<AcceptCounter> counter(new AcceptCounter(fd, wake[0], wake[1]));
  counter->thread_ = std::thread([c = counter.get()] { c->run(); });
  return counter;
}

AcceptCounter::AcceptCounter(int listener, int wake_read, int wake_write)
    : listener_(listener), wake_read_(wake_read), wake_write_(wake_write) {}

AcceptCounter::~AcceptCounter() {
  const char byte = 0;
  (void)!::write(wake_write_, &byte, 1);
  if (thread_.joinable()) thread_.join();
  ::close(listener_);
  ::close(wake_read_);
  ::close(wake_write_);
}

std::vector<std::string> AcceptCounter::sources() const {
  std::lock_guard lock(mutex_);
  return sources_;
}

void AcceptCounter::run() {
  for (;;) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    sockaddr_storage from{};
    socklen_t length = sizeof from;
    const int conn = ::accept4(listener_, reinterpret_cast<sockaddr*>(&from), &length, SOCK_CLOEXEC);
    if (conn < 0) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (from.ss_family == AF_INET6)
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr, text, sizeof text);
    else
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&from)->sin_addr, text, sizeof text);
    {
      std::lock_guard lock(mutex_);
      sources_.push_back(text);
    }
    ++accepted_;
    ::close(conn);
  }
}

}  // namespace datafold::net::testing
