#pragma once
// The process's I/O threads: one Asio io_context per thread, shared by the HTTP servers (public
// and internal listeners) and the outbound HTTP clients. A connection, accepted or dialled, stays
// on one thread for its life, so per-thread state needs no lock.
//
// Boost stays out of this header: code that runs Asio operations (net/*.cpp) gets the contexts
// through context(i).

#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace tacos::net {

class IoPool {
 public:
  explicit IoPool(int threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  int size() const;
  boost::asio::io_context& context(int i);

  /// Runs every context until stop(): contexts 1..n-1 on threads of their own, context 0 on the
  /// calling thread. Blocks. The contexts do not run out of work by themselves.
  void run();
  /// Runs every context on a thread of its own and returns (the process's main thread then waits
  /// for a signal); join() after stop() waits for those threads.
  void start();
  void join();
  /// Stops every context (thread-safe); run() returns once their threads have ended.
  void stop();

  /// The index of the pool thread the caller runs on, or -1 on any other thread.
  int current() const;
  /// The caller's own context index when it is one of the pool's threads, else the next one in
  /// turn: where work started from outside (a ledger callback, a worker) should go.
  int pick();
  /// Runs `fn` on context `i` (never inline).
  void post(int i, std::function<void()> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tacos::net
