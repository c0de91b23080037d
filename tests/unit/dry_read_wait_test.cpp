// DryReadWait: after a read finds a socket dry, a wait that starts with no system
// call still wakes for every byte that comes later, including bytes that came while
// no wait was queued; closing or cancelling ends it; a reset that came with the last
// bytes is reported. Real loopback TCP sockets.
#include "transport/dry_read_wait.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using asio::ip::tcp;

// A connected pair on loopback: `reader` is the side waited on.
struct SocketPair {
  explicit SocketPair(asio::io_context& io) : reader(io), writer(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    writer.connect(acceptor.local_endpoint());
    acceptor.accept(reader);
    reader.non_blocking(true);
  }
  tcp::socket reader;
  tcp::socket writer;
};

// Receives until the socket would block: what a reader does before it waits.
std::size_t read_dry(tcp::socket& socket) {
  std::size_t total = 0;
  char buffer[256];
  for (;;) {
    const auto n = ::recv(socket.native_handle(), buffer, sizeof buffer, 0);
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      continue;
    }
    EXPECT_TRUE(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) << "recv returned " << n;
    return total;
  }
}

// Blocks (up to `limit`) until the kernel has bytes for `socket`: what makes a test
// step deterministic without waiting on the reactor.
bool bytes_arrived(tcp::socket& socket, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  pollfd fd{socket.native_handle(), POLLIN, 0};
  return ::poll(&fd, 1, static_cast<int>(limit.count())) == 1;
}

// Blocks (up to ten seconds) until the kernel has taken the peer's RST for `socket`:
// bytes sent just before it are readable first, and a busy machine may process the
// reset a little later. Asked for no event, poll() reports only POLLERR and POLLHUP,
// so the unread bytes do not end the wait.
bool reset_arrived(tcp::socket& socket) {
  pollfd fd{socket.native_handle(), 0, 0};
  return ::poll(&fd, 1, 10'000) == 1 && (fd.revents & (POLLERR | POLLHUP)) != 0;
}

// One reader's socket, its DryReadWait and the io_context that runs them.
class DryReadWaitTest : public ::testing::Test {
 protected:
  // Starts a wait that records its outcome in `outcome`.
  void start_wait() {
    outcome.reset();
    wait.async_wait([this](std::error_code ec) { outcome = ec; });
  }

  // Runs the io_context until the wait completes, or fails after a deadline (a wait
  // that missed its wake-up would otherwise hang the test).
  void run_until_done() {
    io.restart();  // an io_context that ran out of work stays stopped until restarted
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!outcome && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(outcome.has_value()) << "the wait never completed";
  }

  // Runs what is ready without blocking: with work queued, the reactor takes what the
  // kernel has for its sockets.
  void poll() {
    io.restart();
    io.poll();
  }

  // The same with no wait queued (poll() runs the reactor only while there is work).
  void let_reactor_look() {
    const auto work = asio::make_work_guard(io);
    poll();
  }

  // Where most tests start: the first wait completes at once (the reactor has never
  // seen the socket dry), and the reader then reads it dry.
  void read_dry_after_first_wait() {
    start_wait();
    run_until_done();
    ASSERT_FALSE(*outcome);
    EXPECT_EQ(read_dry(pair.reader), 0u);
  }

  asio::io_context io;
  SocketPair pair{io};
  DryReadWait wait{pair.reader};
  std::optional<std::error_code> outcome;
};

// Reading dry then waiting parks the wait: it completes when bytes come.
TEST_F(DryReadWaitTest, AfterADryReadTheWaitCompletesWhenBytesCome) {
  read_dry_after_first_wait();
  start_wait();
  poll();
  EXPECT_FALSE(outcome.has_value()) << "woke with nothing to read";

  asio::write(pair.writer, asio::buffer("hello", 5));
  run_until_done();
  EXPECT_FALSE(*outcome);
  EXPECT_EQ(read_dry(pair.reader), 5u);
}

// Bytes that come while no wait is queued are taken by the reactor with nothing to
// complete; the next wait must not sleep through them.
TEST_F(DryReadWaitTest, BytesThatCameWhileNoWaitWasQueuedCompleteTheNextWaitAtOnce) {
  read_dry_after_first_wait();
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    asio::write(pair.writer, asio::buffer("ping", 4));
    ASSERT_TRUE(bytes_arrived(pair.reader));
    let_reactor_look();  // it takes the socket's edge, with no wait queued
    start_wait();
    run_until_done();
    EXPECT_FALSE(*outcome);
    EXPECT_EQ(read_dry(pair.reader), 4u);
  }
}

// Read dry, wait, bytes come, again and again: no wake is missed and every byte is read.
TEST_F(DryReadWaitTest, ManyWakesInARowLoseNoBytes) {
  std::size_t received = 0;
  std::size_t sent = 0;
  for (int round = 0; round < 200; ++round) {
    received += read_dry(pair.reader);
    start_wait();
    const std::size_t size = 1 + static_cast<std::size_t>(round % 7) * 100;
    const std::string bytes(size, 'x');
    asio::write(pair.writer, asio::buffer(bytes));
    sent += size;
    run_until_done();
    ASSERT_FALSE(*outcome);
  }
  received += read_dry(pair.reader);
  EXPECT_EQ(received, sent);
}

// An RST that comes with the last bytes: the bytes read as usual, and the reset shows
// only to the receive after them, so a reader that found the socket empty must still
// hear of it before it waits without a re-arm.
TEST_F(DryReadWaitTest, AResetThatCameWithTheLastBytesIsReportedOnceAsAHangUp) {
  EXPECT_TRUE(wait.take_hang_up_report()) << "a socket the reader has never asked about may have hung up";
  EXPECT_FALSE(wait.take_hang_up_report()) << "asking forgets it";

  asio::write(pair.writer, asio::buffer("last", 4));
  ASSERT_TRUE(bytes_arrived(pair.reader));
  let_reactor_look();
  EXPECT_FALSE(wait.take_hang_up_report()) << "bytes alone are no hang-up";
  EXPECT_EQ(read_dry(pair.reader), 4u);

  asio::write(pair.writer, asio::buffer("more", 4));
  pair.writer.set_option(asio::socket_base::linger(true, 0));
  pair.writer.close();  // with zero linger: an RST
  ASSERT_TRUE(reset_arrived(pair.reader));
  let_reactor_look();
  char buffer[16];
  EXPECT_EQ(::recv(pair.reader.native_handle(), buffer, sizeof buffer, 0), 4) << "the bytes first";
  EXPECT_TRUE(wait.take_hang_up_report());
  EXPECT_FALSE(wait.take_hang_up_report());
  EXPECT_LT(::recv(pair.reader.native_handle(), buffer, sizeof buffer, 0), 0) << "then the reset";
}

TEST_F(DryReadWaitTest, ThePeerClosingCompletesTheWait) {
  read_dry_after_first_wait();
  start_wait();
  pair.writer.close();
  run_until_done();
  EXPECT_FALSE(*outcome);
  EXPECT_EQ(::recv(pair.reader.native_handle(), nullptr, 0, 0), 0) << "the read after the wait finds the end";
}

TEST_F(DryReadWaitTest, ClosingTheSocketEndsAQueuedWaitWithOperationAborted) {
  read_dry_after_first_wait();
  start_wait();
  poll();
  ASSERT_FALSE(outcome.has_value());
  pair.reader.close();
  run_until_done();
  EXPECT_EQ(*outcome, asio::error::operation_aborted);

  start_wait();
  run_until_done();
  EXPECT_TRUE(*outcome) << "a wait on a closed socket fails at once";
}

TEST_F(DryReadWaitTest, ACancelledSlotEndsTheWait) {
  read_dry_after_first_wait();
  asio::cancellation_signal cancel;
  outcome.reset();
  wait.async_wait(asio::bind_cancellation_slot(cancel.slot(), [this](std::error_code ec) { outcome = ec; }));
  poll();
  ASSERT_FALSE(outcome.has_value());
  cancel.emit(asio::cancellation_type::terminal);
  run_until_done();
  EXPECT_EQ(*outcome, asio::error::operation_aborted);
}

// A wait still queued when its io_context goes is destroyed with it, unrun.
TEST(DryReadWait, AWaitQueuedWhenTheContextEndsIsDestroyedUnrun) {
  auto witness = std::make_shared<int>(0);
  bool ran = false;
  {
    asio::io_context io;
    SocketPair pair(io);
    DryReadWait wait(pair.reader);
    std::optional<std::error_code> first;
    wait.async_wait([&first](std::error_code ec) { first = ec; });
    io.run_one_for(std::chrono::seconds(10));
    ASSERT_TRUE(first.has_value());
    read_dry(pair.reader);
    wait.async_wait([witness, &ran](std::error_code) { ran = true; });
    io.restart();
    io.poll();
    EXPECT_EQ(witness.use_count(), 2);
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(witness.use_count(), 1) << "the handler was not freed";
}

}  // namespace
}  // namespace datafold::net::detail
