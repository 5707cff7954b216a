#pragma once
// A fixed pool of threads for slow, CPU-heavy or blocking work (password hashing) so the I/O
// threads keep serving. Owns its threads; join() waits for queued work.

#include <functional>
#include <memory>

#include "net/router.hpp"

namespace tacos::net {

class BlockingPool {
 public:
  explicit BlockingPool(int threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  void submit(std::function<void()> work);
  /// Runs `work` on the pool and sends what it returns; a request is always answered: when it
  /// throws, 503 with Retry-After if a dependency was unavailable (the store), else 500.
  void answer(Responder res, std::string trace_id, std::function<Response()> work);
  void join();
  /// True on one of the pool's own threads.
  bool running_here() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Routes whose synchronous handlers may block on a store that waits on the network (PostgreSQL):
/// registered through this, an add_sync handler runs on the blocking pool with a copy of the
/// request and answers from there, so no I/O thread waits for the database. Asynchronous handlers
/// pass through unchanged. With a null pool it is `target` itself (the embedded store answers
/// from memory and the page cache: a thread hop would only cost).
class BlockingSyncRoutes final : public Routes {
 public:
  BlockingSyncRoutes(Routes& target, BlockingPool* pool) : target_(target), pool_(pool) {}
  void add(Method method, std::string_view pattern, Handler handler) override {
    target_.add(method, pattern, std::move(handler));
  }
  void add_sync(Method method, std::string_view pattern, SyncHandler handler) override;

 private:
  Routes& target_;
  BlockingPool* pool_;
};

}  // namespace tacos::net
