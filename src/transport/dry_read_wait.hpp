// DryReadWait: waiting for a socket that a read found empty to have bytes again,
// without a system call to start the wait.
//
// Asio's socket.async_wait(wait_read) re-arms the socket in epoll (an epoll_ctl) each
// time it starts: it cannot know whether bytes came since the caller last looked,
// and the re-arm is what makes epoll report bytes already there. A reader that has
// just read the socket dry knows there were none, and that anything arriving later
// wakes epoll anyway (Asio registers sockets edge-triggered once; each arrival is
// an edge). What it does not know is whether such an edge already came, and was
// taken by the reactor while no wait was queued. Asio keeps exactly that per socket,
// as the flag its speculative reads look at: an edge sets it; an operation that
// reports its socket "exhausted" clears it. The wait here is such an operation:
// started with the flag set, it completes at once; with the flag clear it goes to the
// reactor's queue with no system call, and the next edge completes it. Either way
// it clears the flag, so a wait completing is what the next one is measured from.
//
// The contract that makes this sound has two parts.
// - Dry means nothing left to read: a receive that would block, or one whose
//   TCP_INQ hint says no byte is left and no FIN either (the kernel gives a FIN as
//   one byte left, so that its reader reads on to the end). A read that merely came
//   back short is not dry: a FIN that came with the last bytes stays queued behind
//   them and raises no edge of its own.
// - An RST that came with the last bytes leaves no trace a receive shows: the bytes
//   are read, and only the next receive fails. Its edge reported an error or a
//   hang-up (EPOLLERR, EPOLLHUP), which Asio records in its flag for out-of-band
//   reads, an operation this project never starts. take_hang_up_report() reads and
//   clears that flag; a reader that finds it set waits with async_wait instead, whose
//   re-arm has epoll report the reset again (a reset socket stays in error).
// Bytes that came before the dry read were read by it; bytes after it raise an edge.
// TlsSocket keeps the record of both parts (read_dry_, wait_to_read).
//
// Built on Asio's reactor internals (asio::detail), whose shape is particular to a
// version: this is for Asio 1.22 on epoll, which Debian 12 ships; any other build
// falls back to async_wait, which is correct and costs the epoll_ctl. One reader at
// a time; cancelled by closing the socket or through the handler's cancellation slot.
#pragma once

#include <system_error>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/version.hpp>

#if ASIO_VERSION / 100 == 1022 && defined(ASIO_HAS_EPOLL) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT)
#define DATAFOLD_DRY_READ_WAIT_ON_REACTOR 1
#include <asio/associated_cancellation_slot.hpp>
#include <asio/detail/bind_handler.hpp>
#include <asio/detail/fenced_block.hpp>
#include <asio/detail/handler_alloc_helpers.hpp>
#include <asio/detail/handler_cont_helpers.hpp>
#include <asio/detail/handler_work.hpp>
#include <asio/detail/memory.hpp>
#include <asio/detail/reactor.hpp>
#include <asio/detail/reactor_op.hpp>
#include <asio/execution/context.hpp>
#include <asio/query.hpp>
#else
#define DATAFOLD_DRY_READ_WAIT_ON_REACTOR 0
#endif

namespace datafold::net::detail {

#if DATAFOLD_DRY_READ_WAIT_ON_REACTOR

// The reactor operation: a wait whose perform step reports the socket exhausted.
template <class Handler, class IoExecutor>
class DryReadWaitOp : public asio::detail::reactor_op {
 public:
  ASIO_DEFINE_HANDLER_PTR(DryReadWaitOp);

  DryReadWaitOp(Handler& handler, const IoExecutor& io_executor)
      : reactor_op(asio::error_code(), &DryReadWaitOp::perform_step, &DryReadWaitOp::complete_step),
        handler_(std::move(handler)),
        work_(handler_, io_executor) {}

 private:
  // Run by the reactor when the flag is set at the start, or on an edge: there may
  // be bytes, and "exhausted" clears the flag (the caller's read is the next look).
  static status perform_step(asio::detail::reactor_op*) { return done_and_exhausted; }

  // As Asio's own wait operation completes (reactive_wait_op): the handler is moved
  // out and the operation's memory freed before the upcall.
  static void complete_step(void* owner, asio::detail::operation* base, const asio::error_code&, std::size_t) {
    auto* op = static_cast<DryReadWaitOp*>(base);
    ptr p = {asio::detail::addressof(op->handler_), op, op};
    asio::detail::handler_work<Handler, IoExecutor> work(std::move(op->work_));
    asio::detail::binder1<Handler, asio::error_code> bound(op->handler_, op->ec_);
    p.h = asio::detail::addressof(bound.handler_);
    p.reset();
    if (owner != nullptr) {  // null: the reactor is being destroyed, and only frees
      asio::detail::fenced_block fence(asio::detail::fenced_block::half);
      work.complete(bound, bound.handler_);
    }
  }

  Handler handler_;
  asio::detail::handler_work<Handler, IoExecutor> work_;
};

#endif

// Waits as the header says, on one socket, for as long as the socket lives.
class DryReadWait {
 public:
  explicit DryReadWait(asio::ip::tcp::socket& socket) : socket_(socket) {
#if DATAFOLD_DRY_READ_WAIT_ON_REACTOR
    // Looked up once: use_service takes the context's service lock.
    reactor_ = &asio::use_service<asio::detail::reactor>(asio::query(socket.get_executor(), asio::execution::context));
#endif
  }

  // Whether the reactor has seen the socket report an error or a hang-up since this
  // was last asked (at first, always), forgetting it: a reader told so must wait with
  // the socket's async_wait, not here. Where the reactor is not epoll's, always true.
  bool take_hang_up_report() noexcept;

  // Completes with no error once bytes may be there (possibly none, if they came
  // before the caller's dry read: the read that follows finds out); with
  // operation_aborted when the socket closes or the handler's slot cancels the wait,
  // and bad_descriptor if it was closed already. Only after a dry read, as above.
  template <class Token>
  auto async_wait(Token&& token) {
#if DATAFOLD_DRY_READ_WAIT_ON_REACTOR
    return asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler) { start(std::move(handler)); }, token);
#else
    return socket_.async_wait(asio::socket_base::wait_read, std::forward<Token>(token));
#endif
  }

 private:
#if DATAFOLD_DRY_READ_WAIT_ON_REACTOR
  // What a socket's Asio implementation holds for the reactor: basic_socket keeps it
  // protected, and a derived class may name the member for any socket.
  struct Internals : asio::ip::tcp::socket {
    static auto& of(asio::ip::tcp::socket& socket) { return (socket.*(&Internals::impl_)).get_implementation(); }
  };

  // Removes the wait from the reactor's queue when the handler's slot is cancelled.
  struct Cancellation {
    asio::detail::reactor* reactor;
    asio::detail::reactor::per_descriptor_data* data;
    int descriptor;
    void operator()(asio::cancellation_type_t type) {
      if (!!(type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                     asio::cancellation_type::total)))
        reactor->cancel_ops_by_key(descriptor, *data, asio::detail::reactor::read_op, this);
    }
  };

  template <class Handler>
  void start(Handler handler) {
    using Op = DryReadWaitOp<Handler, asio::any_io_executor>;
    auto& impl = Internals::of(socket_);
    const bool is_continuation = asio_handler_cont_helpers::is_continuation(handler);
    auto slot = asio::get_associated_cancellation_slot(handler);
    typename Op::ptr p = {asio::detail::addressof(handler), Op::ptr::allocate(handler), nullptr};
    p.p = new (p.v) Op(handler, socket_.get_executor());
    if (!socket_.is_open()) {
      p.p->ec_ = asio::error::bad_descriptor;
      reactor_->post_immediate_completion(p.p, is_continuation);
    } else {
      if (slot.is_connected())
        p.p->cancellation_key_ =
            &slot.template emplace<Cancellation>(Cancellation{reactor_, &impl.reactor_data_, impl.socket_});
      // allow_speculative: the reactor runs the perform step at once if its flag is set.
      reactor_->start_op(asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_, p.p, is_continuation,
                         true);
    }
    p.v = p.p = nullptr;
  }

  asio::detail::reactor* reactor_;
#endif
  asio::ip::tcp::socket& socket_;
};

}  // namespace datafold::net::detail
