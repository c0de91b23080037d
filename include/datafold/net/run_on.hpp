// RunOn: which thread runs a callback or a completion handler the node is given.
#pragma once

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

}  // namespace datafold::net
