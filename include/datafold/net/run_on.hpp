// RunOn: which thread runs a callback or a completion handler the node is given.
#pragma once

namespace datafold::net {

// Where a callback or a completion handler runs.
enum class RunOn {
  // The node's handler pool (the default): it may block, take its time, call the
  // node's blocking functions.
  HandlerPool,
  // The I/O thread of the connection the request or reply came on, with no hand-off
  // between threads (two fewer per request). It must never block: no blocking call
  // of this node (those return a Config error there), no disk, no long lock; every
  // connection on that thread waits while it runs. For answers made from memory and
  // for load generators.
  IoThread,
};

}  // namespace datafold::net
