#pragma once
// A fixed pool of threads for slow, CPU-heavy or blocking work (password hashing) so the I/O
// threads keep serving. Owns its threads; join() waits for queued work.

#include <functional>
#include <memory>

namespace tacos::net {

class BlockingPool {
 public:
  explicit BlockingPool(int threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  void submit(std::function<void()> work);
  void join();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tacos::net
