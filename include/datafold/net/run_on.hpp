// RunOn: which thread runs a callback or a completion handler the node is given;
// TurnScope: what the handler pool holds around a turn of a peer's requests.
#pragma once

#include <functional>

namespace datafold::net {

// Where a callback or a completion handler runs.
enum class RunOn {
  // The node's handler pool (the default): it may block, take its time, call the
  // node's blocking functions.
  HandlerPool,
  // The I/O thread that read the request or the reply, with no hand-off between
  // threads (two fewer per request). It must never block: no blocking call of this
  // node (those return a Config error there), no disk, no long lock; every connection
  // served by that thread waits while it runs. With io_threads > 1 it may run on
  // several I/O threads at once (one connection's calls never overlap): make it
  // thread-safe. For answers made from memory and for load generators.
  //
  // A completion handler whose outcome is known before the request leaves (an error
  // found as it is issued: unknown node, node stopped) runs on the handler pool
  // after the issuing call returns, so a handler that issues again cannot recurse;
  // once stop() has joined the pool, handlers of either kind run where the outcome is
  // made.
  IoThread,
};

// The handler pool answers peers' requests a turn at a time, peers taking turns. With a
// TurnScope set (NetworkCore::set_turn_scope), a turn is up to 16 requests of one peer
// that were waiting together (queries, schema listings, parts of long answers),
// answered one after another on one thread, their replies written together when it
// ends; without one, a turn is one request, and a peer's requests run on every
// handler thread at once. The scope runs around the turns waiting when it starts, up
// to 64 requests of one peer or several (each turn still answered, and its replies
// written, as a turn of its own): it must call `answer` exactly once, on the calling
// thread. A store opens one read transaction there, so those queries read one state
// of it and take its locks once, not once each; a write committed before a request
// arrived is still seen, since the scope starts after. The price: a slow request
// delays the rest of its turn (at most 15 of its peer's), and the turns after it.
using TurnScope = std::function<void(const std::function<void()>& answer)>;

}  // namespace datafold::net
